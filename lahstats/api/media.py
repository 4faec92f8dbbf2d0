"""``GET /media/{key}``: blobs behind signed, expiring URLs, playable without a token.

The signature (see ``storage.signing``) is the credential, so this route sits outside the auth
middleware; it serves only keys the service signed and only until they expire.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import FromPath, FromQuery, QueryParameter

from lahstats.api.deps import ProcessRuntime
from lahstats.storage.signing import verify

_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4", "webm": "audio/webm"}


class MediaController(Controller):
    path = "/media"
    tags = ["media"]  # noqa: RUF012 - Litestar reads it as a class attribute
    include_in_schema = False

    @get("/{key:path}", summary="A signed blob (speaker samples)")
    async def media(
        self,
        key: FromPath[str],
        runtime: ProcessRuntime,
        expires: FromQuery[int],
        signature: Annotated[str, QueryParameter(max_length=128)],
    ) -> Response[bytes]:
        key = key.lstrip("/")
        verify(
            key, expires=expires, signature=signature, secret=runtime.settings.jwt_signing_secret()
        )
        data = await runtime.blobs.get(key)
        return Response(
            data,
            media_type=_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream"),
            headers={"Cache-Control": "private, max-age=3600"},
        )

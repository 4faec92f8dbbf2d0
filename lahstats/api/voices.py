"""``/users/me/voice``: enrol a voice from a short recording, see what the voiceprint rests on."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post

from lahstats.api.deps import Caller, Enrolment
from lahstats.api.errors import error_responses
from lahstats.errors import InvalidInput, PayloadTooLarge
from lahstats.speakers.enrolment import MAX_SECONDS, MIN_SECONDS
from lahstats.speakers.schemas import EnrolledOut, VoiceOut

MAX_RECORDING_BYTES = 20 * 1024 * 1024


class VoiceController(Controller):
    path = "/users/me/voice"
    tags = ["voices"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        summary=f"Enrol your voice from a {MIN_SECONDS:g}-{MAX_SECONDS:g} s recording (raw body)",
        status_code=201,
        request_max_body_size=MAX_RECORDING_BYTES,
        responses=error_responses(413, 422),
    )
    async def enrol(
        self,
        request: Request[Any, Any, Any],
        caller: Caller,
        enrolment: Enrolment,
    ) -> EnrolledOut:
        data = await request.body()
        if not data:
            raise InvalidInput(
                "the request has no audio",
                hint="Send the recording as the raw body, e.g. Content-Type: audio/mp4.",
            )
        if len(data) > MAX_RECORDING_BYTES:
            raise PayloadTooLarge(
                f"the recording is {len(data)} bytes; at most {MAX_RECORDING_BYTES} are accepted",
                hint="Send 10 to 30 seconds of compressed audio (m4a, mp3, webm).",
            )
        return await enrolment.enrol(caller.user_id, data)

    @get(
        summary="Your enrolments and voiceprints (what voice suggestions compare against)",
        responses=error_responses(),
    )
    async def voice(self, caller: Caller, enrolment: Enrolment) -> VoiceOut:
        return await enrolment.overview(caller.user_id)

    @delete(
        summary="Forget your enrolled recordings (claimed speakers still shape the voiceprint)",
        responses=error_responses(),
    )
    async def forget(self, caller: Caller, enrolment: Enrolment) -> None:
        await enrolment.forget(caller.user_id)

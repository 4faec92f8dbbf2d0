"""Chunk uploads: ``POST /sessions/{id}/upload`` (multipart) and ``PUT /sessions/{id}/chunks/{n}``.

201 when a chunk is stored, 200 when the same bytes were already stored under its number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, post, put
from litestar.datastructures import UploadFile
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, MultipartBody, PathParameter

from lahstats.api.deps import Caller, Uploads
from lahstats.api.errors import error_responses
from lahstats.api.ratelimit import RATE_LIMITED_RESPONSE, rate_limit
from lahstats.runtime.ratelimit import Action
from lahstats.sessions.schemas import ChunkOut
from lahstats.sessions.uploads import MAX_CHUNK_NUMBER


@dataclass
class ChunkForm:
    file: UploadFile
    # The same bounds as the PUT route's path: a 400 naming the field, like there.
    chunk_number: Annotated[int, msgspec.Meta(ge=0, le=MAX_CHUNK_NUMBER)]


def chunk_response(answer: ChunkOut) -> Response[ChunkOut]:
    return Response(answer, status_code=201 if answer.created else 200)


# Both routes answer 201 for a new chunk and 200 for a retry of bytes already stored.
_ANSWERS = error_responses(404, 409, 413, 415, 422) | RATE_LIMITED_RESPONSE
_CREATED = "Stored as a new chunk (`created`: true)"
_RETRIED = "These exact bytes were already stored under this number (`created`: false)"


def _stored(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ChunkOut, generate_examples=False, description=description)


class ChunkController(Controller):
    path = "/sessions/{session_id:uuid}"
    tags = ["sessions"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/upload",
        summary="Upload one chunk as multipart form data (file, chunk_number)",
        guards=[rate_limit(Action.UPLOAD)],
        response_description=_CREATED,
        responses=_ANSWERS | {200: _stored(_RETRIED)},
    )
    async def upload(
        self,
        session_id: FromPath[uuid.UUID],
        data: MultipartBody[ChunkForm],
        caller: Caller,
        chunk_uploads: Uploads,
    ) -> Response[ChunkOut]:
        content = await data.file.read()
        stored = await chunk_uploads.upload(
            session_id,
            caller.user_id,
            number=data.chunk_number,
            data=content,
            content_type=data.file.content_type,
            filename=data.file.filename,
        )
        return chunk_response(stored)

    @put(
        "/chunks/{chunk_number:int}",
        summary="Upload one chunk as the raw request body (idempotent)",
        guards=[rate_limit(Action.UPLOAD)],
        status_code=201,
        response_description=_CREATED,
        responses=_ANSWERS | {200: _stored(_RETRIED)},
    )
    async def put_chunk(
        self,
        *,
        request: Request[Any, Any, Any],
        session_id: FromPath[uuid.UUID],
        chunk_number: Annotated[int, PathParameter(ge=0, le=MAX_CHUNK_NUMBER)],
        caller: Caller,
        chunk_uploads: Uploads,
    ) -> Response[ChunkOut]:
        stored = await chunk_uploads.upload(
            session_id,
            caller.user_id,
            number=chunk_number,
            data=await request.body(),
            content_type=request.headers.get("content-type"),
        )
        return chunk_response(stored)

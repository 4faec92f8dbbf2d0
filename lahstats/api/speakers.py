"""A processed session's speakers, claiming them, and its transcript."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody

from lahstats.api.deps import Caller, Claims, Roster, Sessions
from lahstats.api.errors import error_responses
from lahstats.api.schemas import ClaimIn, SuccessOut
from lahstats.sessions.schemas import TranscriptOut
from lahstats.speakers.schemas import SpeakersOut


class SpeakerController(Controller):
    path = "/sessions/{session_id:uuid}"
    tags = ["speakers"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/speakers",
        summary="The voices found, each with a sample to play, counts and claim",
        responses=error_responses(404),
    )
    async def speakers(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[uuid.UUID],
        caller: Caller,
        roster: Roster,
    ) -> SpeakersOut:
        return await roster.speakers(session_id, caller.user_id, base_url=str(request.base_url))

    @post(
        "/claim",
        summary="Claim a speaker as yourself, another member or a guest",
        status_code=200,
        responses=error_responses(404, 409, 413, 415, 422),
    )
    async def claim(
        self,
        session_id: FromPath[uuid.UUID],
        data: JSONBody[ClaimIn],
        caller: Caller,
        claims: Claims,
    ) -> SuccessOut:
        await claims.claim(
            session_id=session_id,
            speaker_id=data.speaker_id,
            caller_id=caller.user_id,
            claim_type=data.claim_type,
            user_id=data.user_id,
            guest_name=data.guest_name,
        )
        return SuccessOut()

    @delete(
        "/claim/{speaker_id:uuid}",
        summary="Unclaim a speaker (the claimer or the session's starter)",
        status_code=200,
        responses=error_responses(403, 404, 409),
    )
    async def unclaim(
        self,
        session_id: FromPath[uuid.UUID],
        speaker_id: FromPath[uuid.UUID],
        caller: Caller,
        claims: Claims,
    ) -> SuccessOut:
        await claims.unclaim(session_id=session_id, speaker_id=speaker_id, caller_id=caller.user_id)
        return SuccessOut()

    @get(
        "/transcript",
        summary="Who said what when (corrected, and as first heard)",
        responses=error_responses(404),
    )
    async def transcript(
        self, session_id: FromPath[uuid.UUID], caller: Caller, sessions: Sessions
    ) -> TranscriptOut:
        return await sessions.transcript(session_id, caller.user_id)

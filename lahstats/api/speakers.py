"""A processed session's speakers, claiming them, and its transcript."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody

from lahstats.api.deps import Caller, Claims, DbSession, ProcessRuntime
from lahstats.api.errors import error_responses
from lahstats.api.schemas import (
    ClaimIn,
    SpeakerOut,
    SpeakersOut,
    SuccessOut,
    TranscriptLineOut,
    TranscriptOut,
)
from lahstats.sessions.transcript import transcript
from lahstats.speakers.roster import session_speakers
from lahstats.storage.models import ClaimType
from lahstats.storage.signing import media_path

SAMPLE_URL_TTL_SECONDS = 6 * 3600


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
        db: DbSession,
        caller: Caller,
        runtime: ProcessRuntime,
    ) -> SpeakersOut:
        secret = runtime.settings.jwt_signing_secret()
        base = str(request.base_url).rstrip("/")
        out = []
        for view in await session_speakers(db, session_id, caller.user_id, runtime.settings):
            speaker = view.speaker
            key = speaker.sample_storage_key
            out.append(
                SpeakerOut(
                    id=speaker.id,
                    speaker_label=speaker.speaker_label,
                    sample_audio_url=base
                    + media_path(key, secret=secret, ttl_seconds=SAMPLE_URL_TTL_SECONDS)
                    if key
                    else None,
                    total_duration_seconds=round(speaker.total_duration_seconds, 2),
                    segment_count=speaker.segment_count,
                    word_counts=dict(view.word_counts),
                    claimed_by=speaker.claimed_by,
                    claim_type=speaker.claim_type,
                    attributed_to_user_id=speaker.attributed_to_user_id,
                    guest_name=speaker.guest_name,
                    suggested_user_id=view.suggestion.user_id if view.suggestion else None,
                    suggestion_confidence=view.suggestion.confidence if view.suggestion else None,
                )
            )
        return SpeakersOut(speakers=out)

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
            claim_type=ClaimType(data.claim_type),
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
        self, session_id: FromPath[uuid.UUID], db: DbSession, caller: Caller
    ) -> TranscriptOut:
        lines = await transcript(db, session_id, caller.user_id)
        return TranscriptOut(
            segments=[
                TranscriptLineOut(
                    speaker_id=line.segment.speaker_id,
                    speaker_label=line.speaker_label,
                    start_seconds=round(line.segment.start_seconds, 2),
                    end_seconds=round(line.segment.end_seconds, 2),
                    text=line.segment.corrected_text,
                    raw_text=line.segment.raw_text,
                )
                for line in lines
            ]
        )

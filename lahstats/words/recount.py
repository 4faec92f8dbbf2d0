"""Counting a group's past sessions again with its current words, without running a model.

Each processed session keeps what the recogniser heard (``session_recognitions``); a recount runs
``pipeline.recount`` on it with the group's lexicon, the very step a fresh run ends with, so the
result equals processing the session again with the same words. Speakers keep their rows, ids,
samples and claims; what changes:

    speaker_word_counts    replaced, per speaker label
    transcript_segments    replaced (corrected and as-heard text), as the job writes them
    word_counts            replaced for claimed speakers attributed to a user (as a claim does)

Sessions processed before recognitions were stored have nothing to recount from: they are
skipped and reported (process them again to include them). Sessions still recording or being
processed are left alone: their processing counts with the words of that moment. Adding or
deleting a word never recounts by itself; call this after. Never commits.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.groups.service import GroupService
from lahstats.lexicon.lexicon import Lexicon
from lahstats.pipeline.recognition import load_recognition
from lahstats.pipeline.recount import recount
from lahstats.pipeline.types import Analysis
from lahstats.sessions.results import new_segments
from lahstats.storage.models import RecordingSession, SessionRecognition, SessionStatus
from lahstats.storage.repositories import (
    RecognitionRepository,
    SpeakerCountRepository,
    SpeakerRepository,
    TranscriptRepository,
    WordCountRepository,
)
from lahstats.words.custom import group_lexicon
from lahstats.words.schemas import RecountOut

RECOUNTED = (SessionStatus.READY_FOR_CLAIMING, SessionStatus.COMPLETED)


class RecountService:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session
        self._recognitions = RecognitionRepository(session)
        self._speakers = SpeakerRepository(session)

    async def recount_group(self, group_id: uuid.UUID, caller_id: uuid.UUID) -> RecountOut:
        """Recounts every processed session of the group (members only, else ``NotFound``)."""
        await GroupService(self._db).visible(group_id, caller_id)
        lexicon = await group_lexicon(self._db, group_id)
        recounted = changed = 0
        skipped: list[uuid.UUID] = []
        for recording, recognition in await self._recognitions.sessions_of_group(
            group_id, RECOUNTED
        ):
            if recognition is None:
                skipped.append(recording.id)
                continue
            try:
                changed += await self.recount_session(recording, recognition, lexicon)
            except ValueError:  # a stored recognition this version cannot read
                skipped.append(recording.id)
                continue
            recounted += 1
        return RecountOut(
            sessions_recounted=recounted,
            sessions_skipped=len(skipped),
            counts_changed=changed,
            skipped_session_ids=skipped,
        )

    async def recount_session(
        self, recording: RecordingSession, recognition: SessionRecognition, lexicon: Lexicon
    ) -> bool:
        """Rewrites one session's counts and transcript; True when some speaker's counts changed."""
        heard, turns = load_recognition(recognition.heard, recognition.turns)
        # Correction is CPU work: off the event loop, like the job's stages.
        counted = await asyncio.to_thread(recount, heard, turns, lexicon)
        # Claims of this session wait for us, and we for them (see ``lock_for_session``).
        speakers = {s.speaker_label: s for s in await self._speakers.lock_for_session(recording.id)}
        ids = {label: speaker.id for label, speaker in speakers.items()}
        before = await self._speakers.word_counts(recording.id)
        after = {
            ids[found.speaker]: {word: n for word, n in found.counts.items() if n > 0}
            for found in counted.counts
            if found.speaker in ids
        }
        await SpeakerCountRepository(self._db).replace_for_session(recording.id, after)
        analysis = Analysis(
            duration=recording.duration_seconds or 0.0,
            turns=turns,
            words=counted.words,
            segments=counted.segments,
            counts=counted.counts,
        )
        await TranscriptRepository(self._db).replace_for_session(
            recording.id, new_segments(analysis), ids
        )
        for speaker in speakers.values():
            if speaker.claim_type is not None and speaker.attributed_to_user_id is not None:
                # Dated and grouped as ``ClaimService.claim`` dates and groups them.
                await WordCountRepository(self._db).attribute(
                    speaker_id=speaker.id,
                    session_id=recording.id,
                    group_id=recording.group_id,
                    user_id=speaker.attributed_to_user_id,
                    counts=after.get(speaker.id, {}),
                    detected_at=recording.started_at,
                )
        return _nonzero(before, ids.values()) != _nonzero(after, ids.values())


def _nonzero(
    counts: Mapping[uuid.UUID, Mapping[str, int]], speakers: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    return {
        speaker: {word: n for word, n in counts.get(speaker, {}).items() if n > 0}
        for speaker in speakers
    }

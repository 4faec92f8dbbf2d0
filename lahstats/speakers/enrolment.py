"""Enrolling a voice from a short recording, before (or besides) any session.

The recording is decoded like a chunk, its speech found with the VAD the diarizer uses, and the
speech alone embedded with the encoder that embeds session speakers, so the enrolment lands in the
same space as the voices it will be compared with. It then counts towards the user's voiceprint
like a claimed speaker does.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.errors import InvalidInput
from lahstats.pipeline.decode import decode_bytes
from lahstats.pipeline.embed import load_embedder
from lahstats.pipeline.types import SAMPLE_RATE
from lahstats.pipeline.vad import load_speech_detector, speech_regions
from lahstats.settings import Settings
from lahstats.speakers.matching import to_bytes
from lahstats.speakers.schemas import EnrolledOut, VoiceOut, VoiceprintOut, enrolment_out
from lahstats.speakers.voiceprints import VoiceprintService
from lahstats.storage.repositories.voices import VoiceRepository

MIN_SECONDS = 10.0
MAX_SECONDS = 30.0
_TOLERANCE = 0.5  # a phone's "10 s" recording may come out a little short or long
MIN_SPEECH_SECONDS = 5.0
MAX_ENROLMENTS = 5  # per user: the oldest goes when a sixth arrives


@dataclass(frozen=True, slots=True)
class EnrolledVoice:
    vector: npt.NDArray[np.float32]
    model: str
    duration_seconds: float
    speech_seconds: float


def embed_recording(data: bytes, settings: Settings) -> EnrolledVoice:
    """The voice in a 10-30 s recording; ``InvalidInput`` says what to record instead."""
    samples = decode_bytes(data, label="voice recording")
    duration = len(samples) / SAMPLE_RATE
    if duration < MIN_SECONDS - _TOLERANCE or duration > MAX_SECONDS + _TOLERANCE:
        raise InvalidInput(
            f"the voice recording is {duration:.1f} s long; it must be "
            f"{MIN_SECONDS:g} to {MAX_SECONDS:g} s",
            hint="Record yourself talking normally for 10 to 30 seconds, alone.",
        )
    detector = load_speech_detector()
    regions = speech_regions(detector.probabilities(samples), duration)
    pieces = [samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)] for start, end in regions]
    speech = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    speech_seconds = len(speech) / SAMPLE_RATE
    if speech_seconds < MIN_SPEECH_SECONDS:
        raise InvalidInput(
            f"only {speech_seconds:.1f} s of speech was heard in the recording; at least "
            f"{MIN_SPEECH_SECONDS:g} s is needed",
            hint="Record somewhere quiet and keep talking for most of the recording.",
        )
    embedder = load_embedder(settings)
    return EnrolledVoice(
        embedder.embed(speech), embedder.name, round(duration, 3), round(speech_seconds, 3)
    )


class EnrolmentService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self._db = session
        self._settings = settings
        self._voices = VoiceRepository(session)

    async def enrol(self, user_id: uuid.UUID, data: bytes) -> EnrolledOut:
        """Stores the recording's voice and rebuilds the voiceprint; says how much was speech."""
        voice = await asyncio.to_thread(embed_recording, data, self._settings)
        enrolments = list(await self._voices.enrolments(user_id))
        for old in enrolments[: max(0, len(enrolments) - MAX_ENROLMENTS + 1)]:
            await self._db.delete(old)
        enrolment = await self._voices.add_enrolment(
            user_id,
            model=voice.model,
            vector=to_bytes(voice.vector),
            duration_seconds=voice.duration_seconds,
        )
        await VoiceprintService(self._db).refresh([user_id])
        return EnrolledOut(enrolment=enrolment_out(enrolment), speech_seconds=voice.speech_seconds)

    async def overview(self, user_id: uuid.UUID) -> VoiceOut:
        """What the user's voice suggestions compare against: their enrolments and voiceprints."""
        enrolments = await self._voices.enrolments(user_id)
        voiceprints = await self._voices.voiceprints([user_id])
        return VoiceOut(
            enrolments=[enrolment_out(enrolment) for enrolment in enrolments],
            voiceprints=[
                VoiceprintOut(
                    embedding_model=voiceprint.embedding_model,
                    source_count=voiceprint.source_count,
                    updated_at=voiceprint.updated_at,
                )
                for voiceprint in voiceprints
            ],
        )

    async def forget(self, user_id: uuid.UUID) -> int:
        """Removes the user's enrolments; the voiceprint keeps what claims give it."""
        removed = await self._voices.delete_enrolments(user_id)
        await VoiceprintService(self._db).refresh([user_id])
        return removed

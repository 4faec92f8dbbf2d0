"""Repositories: every query the service makes lives here, one module per aggregate.

Each repository wraps one ``AsyncSession`` (the caller's unit of work) and never commits: the scope
that opened the session decides. They return table models to services, never to the web layer.
"""

from lahstats.storage.repositories.chunks import ChunkRepository
from lahstats.storage.repositories.events import EventRepository
from lahstats.storage.repositories.group_words import GroupWordRepository
from lahstats.storage.repositories.groups import GroupRepository
from lahstats.storage.repositories.profiles import ProfileRepository
from lahstats.storage.repositories.recognitions import RecognitionRepository
from lahstats.storage.repositories.sessions import SessionRepository
from lahstats.storage.repositories.speaker_counts import SpeakerCountRepository
from lahstats.storage.repositories.speakers import NewSpeaker, SpeakerRepository
from lahstats.storage.repositories.stats import StatsRepository
from lahstats.storage.repositories.transcripts import NewSegment, TranscriptRepository
from lahstats.storage.repositories.word_counts import WordCountRepository

__all__ = [
    "ChunkRepository",
    "EventRepository",
    "GroupRepository",
    "GroupWordRepository",
    "NewSegment",
    "NewSpeaker",
    "ProfileRepository",
    "RecognitionRepository",
    "SessionRepository",
    "SpeakerCountRepository",
    "SpeakerRepository",
    "StatsRepository",
    "TranscriptRepository",
    "WordCountRepository",
]

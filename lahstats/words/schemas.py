"""What the API answers about words, recounts, Wrapped and leaderboards: the read schemas the
services in this package return (``words.custom``, ``words.recount``, ``words.wrapped``)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class WordCountOut(msgspec.Struct, kw_only=True):
    word: str
    count: int


class GroupWrappedOut(msgspec.Struct, kw_only=True):
    name: str
    total_words: int
    favorite_word: str | None


class WrappedOut(msgspec.Struct, kw_only=True):
    year: int
    total_words: int
    top_words: list[WordCountOut]  # most said first
    favorite_word: str | None
    sessions: int
    minutes_recorded: float
    by_month: dict[str, int]  # "YYYY-MM" -> words, months with words only
    by_group: dict[str, GroupWrappedOut]  # group id -> its words, groups with words only


class LeaderboardEntryOut(msgspec.Struct, kw_only=True):
    rank: int  # competition ranking: ties share a rank (1, 1, 3)
    user_id: uuid.UUID
    display_name: str
    count: int
    favorite_word: str | None


class LeaderboardOut(msgspec.Struct, kw_only=True):
    group_id: uuid.UUID
    year: int
    word: str | None  # None: ranked by all words together
    entries: list[LeaderboardEntryOut]


class WordOut(msgspec.Struct, kw_only=True):
    word: str
    builtin: bool  # one of the twenty every group counts; cannot be removed
    variants: list[str]
    pronunciations: list[str]  # ARPAbet, space-separated
    created_by: uuid.UUID | None = None
    created_at: datetime | None = None


class WordsOut(msgspec.Struct, kw_only=True):
    words: list[WordOut]


class RecountOut(msgspec.Struct, kw_only=True):
    sessions_recounted: int
    sessions_skipped: int  # processed before transcripts were kept for recounts
    counts_changed: int  # sessions in which someone's counts changed
    skipped_session_ids: list[uuid.UUID] = msgspec.field(default_factory=list)

"""What the API answers about words, Wrapped and leaderboards: the read schemas, made from the
values the services in this package compute (``words.wrapped``, ``words.recount``,
``words.custom``), which their tests check directly."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from lahstats.words.custom import TrackedWord
from lahstats.words.recount import RecountSummary
from lahstats.words.wrapped import Leaderboard, Wrapped


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
    top_words: list[WordCountOut]
    favorite_word: str | None
    sessions: int
    minutes_recorded: float
    by_month: dict[str, int]
    by_group: dict[str, GroupWrappedOut]


class LeaderboardEntryOut(msgspec.Struct, kw_only=True):
    rank: int
    user_id: uuid.UUID
    display_name: str
    count: int
    favorite_word: str | None


class LeaderboardOut(msgspec.Struct, kw_only=True):
    group_id: uuid.UUID
    year: int
    word: str | None
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
    skipped_session_ids: list[uuid.UUID]


def word_out(word: TrackedWord) -> WordOut:
    return WordOut(
        word=word.word,
        builtin=word.builtin,
        variants=list(word.variants),
        pronunciations=list(word.pronunciations),
        created_by=word.created_by,
        created_at=word.created_at,
    )


def recount_out(summary: RecountSummary) -> RecountOut:
    return RecountOut(
        sessions_recounted=summary.sessions_recounted,
        sessions_skipped=summary.sessions_skipped,
        counts_changed=summary.counts_changed,
        skipped_session_ids=list(summary.skipped_session_ids),
    )


def wrapped_out(found: Wrapped) -> WrappedOut:
    return WrappedOut(
        year=found.year,
        total_words=found.total_words,
        top_words=[WordCountOut(word=word, count=n) for word, n in found.top_words],
        favorite_word=found.favorite_word,
        sessions=found.sessions,
        minutes_recorded=found.minutes_recorded,
        by_month=found.by_month,
        by_group={
            str(group_id): GroupWrappedOut(
                name=group.name,
                total_words=group.total_words,
                favorite_word=group.favorite_word,
            )
            for group_id, group in found.by_group.items()
        },
    )


def leaderboard_out(board: Leaderboard) -> LeaderboardOut:
    return LeaderboardOut(
        group_id=board.group_id,
        year=board.year,
        word=board.word,
        entries=[
            LeaderboardEntryOut(
                rank=entry.rank,
                user_id=entry.user_id,
                display_name=entry.display_name,
                count=entry.count,
                favorite_word=entry.favorite_word,
            )
            for entry in board.entries
        ],
    )

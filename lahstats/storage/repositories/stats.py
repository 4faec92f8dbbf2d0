"""Aggregates of claimed word counts for Wrapped and leaderboards: sums computed in SQL.

Every query reads one period ``[since, until)`` of ``detected_at`` (when a word was said, i.e. the
session's start) and, for a user's own stats, only groups the user still belongs to. Months are
bucketed by the caller from a ``GROUP BY detected_at``: ``EXTRACT`` follows the server's time zone
on PostgreSQL and is spelled differently on SQLite, and a year has few distinct session starts.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, func, select
from sqlmodel import col

from lahstats.storage.models import (
    ClaimType,
    GroupMember,
    RecordingSession,
    SessionSpeaker,
    WordCount,
)
from lahstats.storage.repositories.base import Repository


class GroupWordTotal(NamedTuple):
    group_id: uuid.UUID
    word: str
    total: int


class SessionTotals(NamedTuple):
    sessions: int
    duration_seconds: float


class StatsRepository(Repository):
    async def user_word_totals(
        self, user_id: uuid.UUID, *, since: datetime, until: datetime
    ) -> list[GroupWordTotal]:
        """The user's claimed counts per group and word, in groups the user belongs to."""
        result = await self.session.execute(
            select(col(WordCount.group_id), col(WordCount.word), func.sum(col(WordCount.count)))
            .join(GroupMember, self._membership())
            .where(
                col(WordCount.user_id) == user_id,
                col(WordCount.detected_at) >= since,
                col(WordCount.detected_at) < until,
            )
            .group_by(col(WordCount.group_id), col(WordCount.word))
        )
        return [GroupWordTotal(group, word, int(total)) for group, word, total in result.all()]

    async def user_totals_by_moment(
        self, user_id: uuid.UUID, *, since: datetime, until: datetime
    ) -> list[tuple[datetime, int]]:
        """``(detected_at, words)`` per distinct moment, in groups the user belongs to."""
        result = await self.session.execute(
            select(col(WordCount.detected_at), func.sum(col(WordCount.count)))
            .join(GroupMember, self._membership())
            .where(
                col(WordCount.user_id) == user_id,
                col(WordCount.detected_at) >= since,
                col(WordCount.detected_at) < until,
            )
            .group_by(col(WordCount.detected_at))
        )
        return [(moment, int(total)) for moment, total in result.all()]

    async def user_sessions(
        self, user_id: uuid.UUID, *, since: datetime, until: datetime
    ) -> SessionTotals:
        """Sessions started in the period where the user claimed a voice as theirs (self or
        user), words or not, in groups the user belongs to; and their summed duration."""
        attributed = select(col(SessionSpeaker.session_id)).where(
            col(SessionSpeaker.attributed_to_user_id) == user_id,
            col(SessionSpeaker.claim_type).in_([ClaimType.SELF, ClaimType.USER]),
        )
        result = await self.session.execute(
            select(
                func.count(col(RecordingSession.id)),
                func.coalesce(func.sum(col(RecordingSession.duration_seconds)), 0.0),
            )
            .join(
                GroupMember,
                and_(
                    col(GroupMember.group_id) == col(RecordingSession.group_id),
                    col(GroupMember.user_id) == user_id,
                ),
            )
            .where(
                col(RecordingSession.id).in_(attributed),
                col(RecordingSession.started_at) >= since,
                col(RecordingSession.started_at) < until,
            )
        )
        sessions, seconds = result.one()
        return SessionTotals(int(sessions), float(seconds or 0.0))

    async def group_word_totals(
        self, group_id: uuid.UUID, *, since: datetime, until: datetime
    ) -> dict[uuid.UUID, dict[str, int]]:
        """``{user_id: {word: total}}`` of everyone's claimed counts in the group."""
        result = await self.session.execute(
            select(col(WordCount.user_id), col(WordCount.word), func.sum(col(WordCount.count)))
            .where(
                col(WordCount.group_id) == group_id,
                col(WordCount.detected_at) >= since,
                col(WordCount.detected_at) < until,
            )
            .group_by(col(WordCount.user_id), col(WordCount.word))
        )
        totals: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for user, word, total in result.all():
            totals[user][word] = int(total)
        return dict(totals)

    @staticmethod
    def _membership() -> ColumnElement[bool]:
        return and_(
            col(GroupMember.group_id) == col(WordCount.group_id),
            col(GroupMember.user_id) == col(WordCount.user_id),
        )

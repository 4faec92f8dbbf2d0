"""Wrapped (a user's year in Singlish) and group leaderboards, from claimed word counts only.

Years run from 1 January 00:00 UTC to the next, counted by when words were said (the session's
start). A user's Wrapped covers only groups the user belongs to; a leaderboard is shown only to a
member of its group and ranks every member, silent ones included. Sums come from SQL
(``StatsRepository``); this module only shapes them. It never commits and never speaks HTTP.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lahstats.errors import InvalidInput, NotFound
from lahstats.groups.service import display_name
from lahstats.lexicon.lexicon import Lexicon
from lahstats.storage.repositories import GroupRepository, StatsRepository
from lahstats.words.custom import group_lexicon
from lahstats.words.schemas import (
    GroupWrappedOut,
    LeaderboardEntryOut,
    LeaderboardOut,
    WordCountOut,
    WrappedOut,
)

TOP_WORDS = 10
FIRST_YEAR, LAST_YEAR = 1970, 9998


class WrappedService:
    def __init__(self, session: AsyncSession, *, lexicon: Lexicon | None = None) -> None:
        """``lexicon``: the words a leaderboard may rank by; default the group's own (the
        built-in words plus those the group added)."""
        self._db = session
        self._groups = GroupRepository(session)
        self._stats = StatsRepository(session)
        self._lexicon = lexicon

    async def wrapped(self, user_id: uuid.UUID, year: int) -> WrappedOut:
        since, until = year_bounds(year)
        per_group = await self._stats.user_word_totals(user_id, since=since, until=until)
        moments = await self._stats.user_totals_by_moment(user_id, since=since, until=until)
        attended = await self._stats.user_sessions(user_id, since=since, until=until)
        names = {group.id: group.name for group in await self._groups.list_for_user(user_id)}

        words: Counter[str] = Counter()
        group_words: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
        for row in per_group:
            words[row.word] += row.total
            group_words[row.group_id][row.word] += row.total
        by_month: Counter[str] = Counter()
        for moment, total in moments:
            by_month[f"{moment.astimezone(UTC):%Y-%m}"] += total
        top = ranked_words(words)
        return WrappedOut(
            year=year,
            total_words=words.total(),
            top_words=[WordCountOut(word=word, count=count) for word, count in top[:TOP_WORDS]],
            favorite_word=top[0][0] if top else None,
            sessions=attended.sessions,
            minutes_recorded=round(attended.duration_seconds / 60, 1),
            by_month={month: by_month[month] for month in sorted(by_month) if by_month[month]},
            by_group={
                str(group): GroupWrappedOut(
                    name=names[group],
                    total_words=counts.total(),
                    favorite_word=favorite_word(counts),
                )
                for group, counts in group_words.items()
                if group in names and counts.total() > 0
            },
        )

    async def leaderboard(
        self, group_id: uuid.UUID, year: int, *, word: str | None = None, viewer_id: uuid.UUID
    ) -> LeaderboardOut:
        """Every member of the group ranked by words said in the year (or by one word)."""
        since, until = year_bounds(year)
        lexicon = self._lexicon or await group_lexicon(self._db, group_id)
        word = counted_word(word, lexicon)
        if await self._groups.get_for_member(group_id, viewer_id) is None:
            raise NotFound(f"group {group_id} not found")
        totals = await self._stats.group_word_totals(group_id, since=since, until=until)
        rows = []
        for _, profile in await self._groups.members(group_id):
            counts = totals.get(profile.id, {})
            count = counts.get(word, 0) if word else sum(counts.values())
            rows.append((count, display_name(profile), profile.id, favorite_word(counts)))
        rows.sort(key=lambda row: (-row[0], row[1].casefold(), str(row[2])))
        entries: list[LeaderboardEntryOut] = []
        for position, (count, name, user, favorite) in enumerate(rows, start=1):
            tied = entries and entries[-1].count == count
            entries.append(
                LeaderboardEntryOut(
                    rank=entries[-1].rank if tied else position,
                    user_id=user,
                    display_name=name,
                    count=count,
                    favorite_word=favorite,
                )
            )
        return LeaderboardOut(group_id=group_id, year=year, word=word, entries=entries)


def counted_word(word: str | None, lexicon: Lexicon) -> str | None:
    """``word`` as the lexicon counts it, or ``InvalidInput`` naming the words there are."""
    if word is None:
        return None
    normalised = word.strip().lower()
    if normalised not in lexicon:
        raise InvalidInput(
            f"{word[:64]!r} is not one of the words lahstats counts",
            hint=f"Ask for one of: {', '.join(lexicon.words)}; or leave out word "
            "to rank by all words together.",
        )
    return normalised


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """``[1 January year, 1 January year + 1)`` in UTC."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            f"year {year} is out of range", hint=f"Ask for a year from {FIRST_YEAR} to {LAST_YEAR}."
        )
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def ranked_words(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """``(word, count)`` of words said at least once, most said first, ties alphabetically."""
    return sorted(
        ((word, n) for word, n in counts.items() if n > 0), key=lambda total: (-total[1], total[0])
    )


def favorite_word(counts: Mapping[str, int]) -> str | None:
    top = ranked_words(counts)
    return top[0][0] if top else None

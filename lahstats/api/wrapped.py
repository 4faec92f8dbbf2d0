"""``/users/me/wrapped`` and ``/groups/{id}/leaderboard``: the year in Singlish, from claims."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from lahstats.api.deps import Caller, Wrapped
from lahstats.api.errors import error_responses
from lahstats.api.schemas import (
    GroupWrappedOut,
    LeaderboardEntryOut,
    LeaderboardOut,
    WordCountOut,
    WrappedOut,
)

Year = Annotated[int | None, QueryParameter(description="Calendar year (UTC); default this year")]


def this_year() -> int:
    return datetime.now(UTC).year


class WrappedController(Controller):
    path = "/users/me/wrapped"
    tags = ["wrapped"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        summary="Your year: totals, top words, favourite word, sessions, minutes, by month",
        responses=error_responses(422),
    )
    async def wrapped(self, caller: Caller, wrapped: Wrapped, year: Year = None) -> WrappedOut:
        found = await wrapped.wrapped(caller.user_id, year or this_year())
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


class LeaderboardController(Controller):
    path = "/groups/{group_id:uuid}/leaderboard"
    tags = ["wrapped"]  # noqa: RUF012

    @get(
        summary="Members ranked by words said in a year (or by one word)",
        responses=error_responses(404, 422),
    )
    async def leaderboard(
        self,
        group_id: FromPath[uuid.UUID],
        caller: Caller,
        wrapped: Wrapped,
        year: Year = None,
        word: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> LeaderboardOut:
        # A group's own words can be ranked too (the service counts with the group's lexicon).
        board = await wrapped.leaderboard(
            group_id, year or this_year(), word=word, viewer_id=caller.user_id
        )
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

"""``/users/me/wrapped`` and ``/groups/{id}/leaderboard``: the year in Singlish, from claims."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from lahstats.api.deps import Caller, Wrapped
from lahstats.api.errors import error_responses
from lahstats.words.schemas import LeaderboardOut, WrappedOut

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
        return await wrapped.wrapped(caller.user_id, year or this_year())


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
        return await wrapped.leaderboard(
            group_id, year or this_year(), word=word, viewer_id=caller.user_id
        )

"""``/groups/{id}/words``: a group's own tracked words, and recounting its past sessions."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody

from lahstats.api.deps import Caller, CustomWords, Recounts
from lahstats.api.errors import error_responses
from lahstats.words.schemas import RecountOut, WordOut, WordsOut


class WordCreate(msgspec.Struct, kw_only=True):
    # The service checks the real limits and says what to do; these only bound the body.
    word: Annotated[str, msgspec.Meta(max_length=1024)]
    variants: Annotated[list[str], msgspec.Meta(max_length=1024)] = msgspec.field(
        default_factory=list
    )
    pronunciation: Annotated[str, msgspec.Meta(max_length=1024)] | None = None


class WordController(Controller):
    path = "/groups/{group_id:uuid}/words"
    tags = ["words"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        summary="Track a word of your own in this group's sessions (any member)",
        responses=error_responses(404, 409, 413, 415, 422),
    )
    async def add(
        self,
        group_id: FromPath[uuid.UUID],
        data: JSONBody[WordCreate],
        caller: Caller,
        custom_words: CustomWords,
    ) -> WordOut:
        return await custom_words.add(
            group_id=group_id,
            caller_id=caller.user_id,
            word=data.word,
            variants=data.variants,
            pronunciation=data.pronunciation,
        )

    @get(
        summary="The words this group's sessions count: built-in ones and the group's own",
        responses=error_responses(404),
    )
    async def list_words(
        self, group_id: FromPath[uuid.UUID], caller: Caller, custom_words: CustomWords
    ) -> WordsOut:
        return await custom_words.list(group_id, caller.user_id)

    @delete(
        "/{word:str}",
        summary="Stop tracking one of the group's own words (past counts stay until a recount)",
        responses=error_responses(404, 409),
    )
    async def remove(
        self,
        group_id: FromPath[uuid.UUID],
        word: FromPath[str],
        caller: Caller,
        custom_words: CustomWords,
    ) -> None:
        await custom_words.delete(group_id=group_id, caller_id=caller.user_id, word=word)

    @delete("/recount", include_in_schema=False)
    async def remove_recount(
        self, group_id: FromPath[uuid.UUID], caller: Caller, custom_words: CustomWords
    ) -> None:
        # The static /recount path takes DELETE .../words/recount from /{word}: the word "recount".
        await custom_words.delete(group_id=group_id, caller_id=caller.user_id, word="recount")

    @post(
        "/recount",
        summary="Count the group's past sessions again with its current words (no models run)",
        status_code=200,
        responses=error_responses(404),
    )
    async def recount(
        self, group_id: FromPath[uuid.UUID], caller: Caller, recounts: Recounts
    ) -> RecountOut:
        return await recounts.recount_group(group_id, caller.user_id)

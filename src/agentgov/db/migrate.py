"""Apply migrations by command (``agentgov db upgrade``), never silently at start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from agentgov.errors import Unavailable

__all__ = ["current_revision", "downgrade", "head_revision", "upgrade"]

_INI = Path(__file__).with_name("alembic.ini")


def _config() -> Config:
    return Config(str(_INI))


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = _config()
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    except SQLAlchemyError as exc:
        raise Unavailable(f"migration failed: {exc.__class__.__name__}: {exc}") from exc


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` ("base": an empty store). Data in dropped tables is lost."""
    cfg = _config()
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, revision)
    except SQLAlchemyError as exc:
        raise Unavailable(f"migration failed: {exc.__class__.__name__}: {exc}") from exc


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise Unavailable(f"database not reachable: {exc.__class__.__name__}") from exc

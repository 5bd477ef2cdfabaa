"""What every command group shares: the store, the local principal, output, and error handling."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from pydantic import BaseModel
from sqlalchemy import Engine

from agentgov.core.canonical import parse_json
from agentgov.core.clock import SystemClock
from agentgov.db.engine import make_engine
from agentgov.errors import AgentGovError, InvalidInput
from agentgov.identity.apikeys import Principal, Role
from agentgov.registry.service import RegistryService
from agentgov.registry.store import RegistryStore

__all__ = [
    "LOCAL_ADMIN",
    "emit",
    "engine",
    "handle_errors",
    "json_option",
    "read_json_file",
    "registry",
]

P = ParamSpec("P")
R = TypeVar("R")

# Whoever runs the CLI on the host holds the database itself; it acts as a local administrator and
# every change it makes is recorded under this actor name.
LOCAL_ADMIN = Principal(key_id="local-cli", role=Role.ADMIN)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def engine() -> Engine:
    return make_engine()


def registry() -> RegistryService:
    return RegistryService(RegistryStore(engine()), SystemClock())


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print an AgentGovError as one line on stderr and exit non-zero; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except AgentGovError as exc:
            where = f" ({exc.field})" if exc.field else ""
            click.echo(f"error [{exc.code}]{where}: {exc.detail}", err=True)
            sys.exit(1)

    return wrapper


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def emit(value: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    data = _plain(value)
    if as_json or text is None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str))
    else:
        click.echo(text(data))


def read_json_file(path: str) -> Any:
    """A JSON document from a file, or from stdin when the path is '-'."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    return parse_json(raw)

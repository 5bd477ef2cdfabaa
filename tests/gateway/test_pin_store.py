"""The pin store, on memory, SQLite and PostgreSQL: the same semantics everywhere, and migration 0006
creating exactly the declared table."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Engine, inspect

from agentgov.errors import Conflict, NotFound
from agentgov.gateway import FIRST_USE, MemoryPinStore, PinStore, SqlPinStore, ToolChange
from agentgov.gateway.pins import tool_definition, tool_digest
from agentgov.gateway.tables import gateway_metadata
from tests.conftest import empty_database
from tests.gateway.test_pins import tool

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MIGRATION = Path(__file__).parents[2] / "src/agentgov/db/migrations/versions/0006_gateway.py"


PG = pytest.param("postgresql", marks=pytest.mark.postgres)


@pytest.fixture(params=["sqlite", PG])
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with empty_database(request.param, tmp_path) as eng:
        yield eng


@pytest.fixture(params=["memory", "sqlite", PG])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PinStore]:
    if request.param == "memory":
        yield MemoryPinStore()
        return
    with empty_database(request.param, tmp_path) as eng:
        gateway_metadata.create_all(eng)
        yield SqlPinStore(eng)


def change(kind: str, name: str = "send_mail", description: str = "changed") -> ToolChange:
    listed = tool(name, description)
    return ToolChange(name, kind, tool_digest(listed), None, tool_definition(listed))  # type: ignore[arg-type]


def test_first_use_pins_every_tool_once(store: PinStore) -> None:
    definitions = {t.name: tool_definition(t) for t in (tool(), tool("read_mail"))}
    assert store.pin_first_use("mail", definitions, T0)
    assert not store.pin_first_use("mail", definitions, T0)  # another session came first
    pins = store.pins("mail")
    assert pins["send_mail"].digest == tool_digest(tool())
    assert [r.pinned_by for r in store.records("mail")] == [FIRST_USE, FIRST_USE]
    assert store.pins("other") == {}


def test_a_change_is_noted_once_and_awaits_approval(store: PinStore) -> None:
    store.pin_first_use("mail", {"send_mail": tool_definition(tool())}, T0)
    assert store.note("mail", change("changed"), T0)
    assert not store.note("mail", change("changed"), T0 + timedelta(seconds=1))
    [pending] = store.records("mail", pending_only=True)
    assert pending.observed_digest == change("changed").digest
    assert pending.pinned_digest == tool_digest(tool())
    assert store.note("mail", change("changed", description="changed again"), T0)  # a further change is new


def test_approval_pins_the_definition_the_operator_reviewed(store: PinStore) -> None:
    store.pin_first_use("mail", {"send_mail": tool_definition(tool())}, T0)
    store.note("mail", change("changed"), T0)
    with pytest.raises(Conflict, match="review it again"):
        store.approve("mail", "send_mail", by="ops", at=T0, digest=tool_digest(tool("x")))
    record = store.approve("mail", "send_mail", by="ops", at=T0, digest=change("changed").digest)
    assert (record.pinned_digest, record.pinned_by, record.pending) == (
        change("changed").digest,
        "ops",
        False,
    )
    assert record.pinned_definition == change("changed").definition
    assert store.pins("mail")["send_mail"].digest == change("changed").digest


def test_nothing_to_approve_is_refused(store: PinStore) -> None:
    store.pin_first_use("mail", {"send_mail": tool_definition(tool())}, T0)
    with pytest.raises(Conflict, match="pinned and unchanged"):
        store.approve("mail", "send_mail", by="ops", at=T0)
    with pytest.raises(NotFound):
        store.approve("mail", "never_seen", by="ops", at=T0)


def test_new_tool_is_noted_then_approved(store: PinStore) -> None:
    store.pin_first_use("mail", {"send_mail": tool_definition(tool())}, T0)
    assert store.note("mail", change("new", "wipe_mailbox"), T0)
    assert not store.note("mail", change("new", "wipe_mailbox"), T0)
    assert store.pins("mail")["wipe_mailbox"].digest is None
    assert (
        store.approve("mail", "wipe_mailbox", by="ops", at=T0).pinned_digest
        == change("new", "wipe_mailbox").digest
    )


def test_removal_and_restoration_are_noted_once(store: PinStore) -> None:
    store.pin_first_use("mail", {"send_mail": tool_definition(tool())}, T0)
    gone = ToolChange("send_mail", "removed", None, tool_digest(tool()))
    assert store.note("mail", gone, T0)
    assert not store.note("mail", gone, T0)
    assert store.pins("mail")["send_mail"].removed
    back = ToolChange("send_mail", "restored", tool_digest(tool()), tool_digest(tool()))
    assert store.note("mail", back, T0)
    assert not store.note("mail", back, T0)
    assert not store.pins("mail")["send_mail"].removed


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_0006", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_0006_creates_exactly_the_declared_table(bare_engine: Engine) -> None:
    migration = _migration()
    assert (migration.revision, migration.down_revision) == ("0006_gateway", "0005_ledger_links")
    with bare_engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.upgrade()
    with bare_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, gateway_metadata) == []
    store = SqlPinStore(bare_engine)
    assert store.pin_first_use("mail", {"send_mail": tool_definition(tool())}, T0)
    with bare_engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.downgrade()
    assert "gateway_tool_pins" not in inspect(bare_engine).get_table_names()

"""Fixtures of the ledger tests: started ledger services over each store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from agentgov.core.clock import FixedClock
from agentgov.ledger.service import LedgerService
from agentgov.ledger.store import MemoryLedgerStore
from agentgov.ledger.store_sql import SqlLedgerStore
from tests.ledger.helpers import service_over


@pytest.fixture
def memory_ledger(clock: FixedClock) -> Iterator[LedgerService]:
    service = service_over(MemoryLedgerStore(), clock).start(schedule=False)
    yield service
    service.close()


@pytest.fixture
def sql_ledger(engine: Engine, clock: FixedClock) -> Iterator[LedgerService]:
    """A started ledger on SQLite and on PostgreSQL (fsync off: durability is the crash test's subject)."""
    service = service_over(SqlLedgerStore(engine, fsync=False), clock).start(schedule=False)
    yield service
    service.close()

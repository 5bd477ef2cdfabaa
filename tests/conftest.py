"""Shared fixtures. Store tests run on SQLite always and on PostgreSQL when one is reachable.

``AGENTGOV_TEST_POSTGRES_URL`` set: the PostgreSQL tests must run there (CI sets it). Unset: the local
server at 127.0.0.1:5432 is used when it answers, otherwise those tests are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from agentgov.core.clock import FixedClock
from agentgov.db import make_engine, upgrade
from agentgov.identity.apikeys import Principal, Role
from agentgov.identity.keystore import KeyStore
from agentgov.registry.service import RegistryService
from agentgov.registry.store import RegistryStore
from agentgov.server.app import create_app

_DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_pg_probe: dict[str, str | None] = {}


def postgres_url() -> str | None:
    """The PostgreSQL URL to test against, or None (with the skip reason cached)."""
    if "url" in _pg_probe:
        return _pg_probe["url"]
    required = os.environ.get("AGENTGOV_TEST_POSTGRES_URL")
    url = required or _DEFAULT_PG
    engine = make_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        _pg_probe["url"] = url
    except OperationalError as exc:
        if required:
            raise RuntimeError(
                f"AGENTGOV_TEST_POSTGRES_URL is set but PostgreSQL does not answer: {exc}"
            ) from exc
        _pg_probe["url"] = None
    finally:
        engine.dispose()
    return _pg_probe["url"]


SKIP_PG = "no PostgreSQL: set AGENTGOV_TEST_POSTGRES_URL or run one on 127.0.0.1:5432 (database test)"


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """An empty database on ``backend``: a SQLite file, or a throw-away PostgreSQL schema (skipped,
    with the reason, when no PostgreSQL answers)."""
    if backend == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'agentgov.db'}")
        yield eng
        eng.dispose()
        return
    url = postgres_url()
    if url is None:
        pytest.skip(SKIP_PG)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated store on each backend."""
    with empty_database(request.param, tmp_path) as eng:
        upgrade(eng)
        yield eng


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'agentgov.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))


@pytest.fixture
def service(engine: Engine, clock: FixedClock) -> RegistryService:
    return RegistryService(RegistryStore(engine), clock)


ADMIN = Principal(key_id="t-admin", role=Role.ADMIN)
REGISTRAR = Principal(key_id="t-registrar", role=Role.REGISTRAR)


def org_doc(
    domain: str = "acme.example", legal_id: str = "91110108MA01ABCD1E", name: str | None = None
) -> dict[str, object]:
    return {
        "name": name or f"Org {domain}",
        "domain": domain,
        "country": "CN",
        "legal_id": legal_id,
        "contacts": [{"name": "Li Wei", "email": f"ops@{domain}"}],
        "owners": ["Li Wei"],
        "sponsors": ["An Alliance"],
    }


def declaration(**overrides: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "display_name": "Clinic helper",
        "description": "Books clinic appointments. 智能医疗助手",
        "skills": [{"id": "book", "name": "Book appointment", "tags": ["booking"]}],
        "interfaces": [
            {"protocol": "a2a", "url": "https://agents.acme.example/clinic", "binding": "JSONRPC"}
        ],
        "deployment": {"mode": "cloud"},
        "application_domains": ["medical"],
        "data_categories": ["personal"],
    }
    doc.update(overrides)
    return doc


class Api:
    """A test client plus keys for every role, over one freshly migrated store."""

    def __init__(self, engine: Engine, clock: FixedClock) -> None:
        self.engine = engine
        self.client = TestClient(create_app(engine, clock=clock), raise_server_exceptions=False)
        self.keystore = KeyStore(engine, clock)
        self.keys: dict[str, str] = {}
        for role in ("admin", "registrar", "evaluator", "regulator"):
            self.keys[role] = self.keystore.create(role).key
        self.keys["user"] = self.keystore.create("user", subject="alice").key

    def auth(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"} if who else {}

    def add_developer(self, who: str, org: str) -> None:
        self.keys[who] = self.keystore.create("developer", org=org).key


@pytest.fixture
def api(engine: Engine, clock: FixedClock) -> Api:
    return Api(engine, clock)

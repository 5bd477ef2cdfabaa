"""Registry service over the real store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from agentgov.core.canonical import canonical_json
from agentgov.core.clock import FixedClock
from agentgov.core.digest import digest_bytes
from agentgov.db.tables import agent_versions, agents, lifecycle_events, organisations
from agentgov.errors import Conflict, Forbidden, IllegalTransition, InvalidIdentifier, InvalidInput, NotFound
from agentgov.identity.apikeys import Principal, Role
from agentgov.registry.service import RegistryService
from tests.conftest import ADMIN, REGISTRAR, declaration, org_doc


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _developer(service: RegistryService, domain: str = "acme.example") -> Principal:
    return Principal(key_id="dev", role=Role.DEVELOPER, org_id=service.get_org(domain).id)


def test_agent_id_is_urn_of_org_domain_and_name(service: RegistryService) -> None:
    service.create_org(REGISTRAR, org_doc())
    record = service.register_agent(_developer(service), "acme.example", "clinic", declaration())
    assert record.id == "urn:agent:acme.example:clinic"
    assert record.status == "filed"
    assert record.version == 1


def test_versions_are_immutable_and_chained_by_digest(service: RegistryService, clock: FixedClock) -> None:
    service.create_org(REGISTRAR, org_doc())
    dev = _developer(service)
    first = service.register_agent(dev, "acme.example", "clinic", declaration())
    clock.advance(timedelta(minutes=1))
    second = service.publish_version(dev, first.id, declaration(description="Now also cancels bookings."))
    versions = service.versions(dev, first.id)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].prev_digest is None
    assert versions[1].prev_digest == versions[0].digest == first.digest
    assert second.digest == versions[1].digest
    for v in versions:  # the stored bytes are the canonical form of what the digest names
        assert digest_bytes(canonical_json(v.declaration)) == v.digest
    assert versions[0].declaration["description"] != versions[1].declaration["description"]


def test_unknown_declaration_members_are_kept_in_extensions(service: RegistryService) -> None:
    service.create_org(REGISTRAR, org_doc())
    record = service.register_agent(
        _developer(service),
        "acme.example",
        "clinic",
        declaration(x_vendor={"tier": "gold"}, homepage="https://a.b"),
    )
    assert record.declaration["extensions"] == {"x_vendor": {"tier": "gold"}, "homepage": "https://a.b"}


def test_duplicate_agent_name_is_a_conflict_and_nothing_is_stored(
    service: RegistryService, engine: Engine
) -> None:
    service.create_org(REGISTRAR, org_doc())
    dev = _developer(service)
    service.register_agent(dev, "acme.example", "clinic", declaration())
    before = (_count(engine, agents), _count(engine, agent_versions), _count(engine, lifecycle_events))
    with pytest.raises(Conflict, match="already exists"):
        service.register_agent(dev, "acme.example", "clinic", declaration(description="another"))
    assert (
        _count(engine, agents),
        _count(engine, agent_versions),
        _count(engine, lifecycle_events),
    ) == before


def test_alias_resolves_and_cannot_be_taken_twice(service: RegistryService) -> None:
    service.create_org(REGISTRAR, org_doc())
    dev = _developer(service)
    aliases = [{"alias": "AIP-11-0000-0001-2026", "scheme": "aip"}]
    record = service.register_agent(dev, "acme.example", "clinic", declaration(), aliases)
    service.move(dev, record.id, "submit")
    service.move(REGISTRAR, record.id, "approve")
    assert service.get_agent(None, "AIP-11-0000-0001-2026").id == record.id
    with pytest.raises(Conflict, match="alias"):
        service.register_agent(dev, "acme.example", "other", declaration(), aliases)


def test_wrong_uscc_check_character_is_refused_and_nothing_stored(
    service: RegistryService, engine: Engine
) -> None:
    with pytest.raises(InvalidIdentifier, match="check character"):
        service.create_org(REGISTRAR, org_doc(legal_id="91110108MA01ABCD1F"))
    assert _count(engine, organisations) == 0


def test_duplicate_domain_is_a_conflict(service: RegistryService) -> None:
    service.create_org(REGISTRAR, org_doc())
    with pytest.raises(Conflict, match="domain"):
        service.create_org(REGISTRAR, org_doc(legal_id="91310115MA1H7XYW23", name="Other"))


def test_unknown_enum_value_names_the_field(service: RegistryService) -> None:
    service.create_org(REGISTRAR, org_doc())
    with pytest.raises(InvalidInput) as caught:
        service.register_agent(
            _developer(service), "acme.example", "clinic", declaration(deployment={"mode": "moon"})
        )
    assert caught.value.field == "deployment.mode"


def test_recall_records_actor_time_reason_and_evidence(service: RegistryService, clock: FixedClock) -> None:
    service.create_org(REGISTRAR, org_doc())
    dev = _developer(service)
    record = service.register_agent(dev, "acme.example", "clinic", declaration())
    service.move(dev, record.id, "submit")
    service.move(REGISTRAR, record.id, "approve")
    clock.advance(timedelta(hours=1))
    evidence = {"incident": "INC-7", "digest": "sha256:" + "a" * 64}
    recalled = service.move(REGISTRAR, record.id, "recall", "leaks health data", evidence)
    assert recalled.status == "recalled"
    assert recalled.deleted
    last = service.events(None, record.id)[-1]
    assert (last.action, last.from_status, last.to_status) == ("recall", "registered", "recalled")
    assert last.actor == REGISTRAR.actor
    assert last.reason == "leaks health data"
    assert last.evidence == evidence
    assert last.at == clock.now()
    # the tombstone stays readable; no new version can be published
    assert service.get_agent(None, record.id).status == "recalled"
    with pytest.raises(IllegalTransition):
        service.publish_version(dev, record.id, declaration())


def test_developer_cannot_approve_its_own_agent(service: RegistryService) -> None:
    service.create_org(REGISTRAR, org_doc())
    dev = _developer(service)
    record = service.register_agent(dev, "acme.example", "clinic", declaration())
    service.move(dev, record.id, "submit")
    with pytest.raises(Forbidden):
        service.move(dev, record.id, "approve")


def test_unpublished_filing_is_hidden_from_the_public(service: RegistryService) -> None:
    service.create_org(REGISTRAR, org_doc())
    record = service.register_agent(_developer(service), "acme.example", "clinic", declaration())
    with pytest.raises(NotFound):
        service.get_agent(None, record.id)
    assert service.get_agent(ADMIN, record.id).id == record.id
    regulator = Principal(key_id="reg", role=Role.REGULATOR)
    assert service.get_agent(regulator, record.id).status == "filed"


def test_certified_flag_follows_certification_window(service: RegistryService, clock: FixedClock) -> None:
    service.create_org(REGISTRAR, org_doc())
    cert = {
        "issuer": "Lab",
        "scope": "safety",
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2026-12-01T00:00:00Z",
    }
    record = service.register_agent(
        _developer(service), "acme.example", "clinic", declaration(certifications=[cert])
    )
    assert service.get_agent(ADMIN, record.id).certified
    clock.advance(timedelta(days=30))
    assert not service.get_agent(ADMIN, record.id).certified

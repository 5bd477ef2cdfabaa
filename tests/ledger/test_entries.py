"""Events, payloads and leaves: canonical bytes, the 64 KiB bound, no personal data in a leaf, erasure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgov.core.canonical import canonical_json
from agentgov.errors import InvalidInput, PayloadTooLarge
from agentgov.ledger.entries import (
    MAX_PAYLOAD_BYTES,
    ActionEvent,
    NoteEvent,
    RegistryLifecycle,
    RegistryVersion,
    action_payload,
    leaf_bytes,
    open_entry,
    parse_event,
    parse_leaf,
    prepare,
)
from tests.ledger.helpers import START, lifecycle, note, version


@pytest.mark.parametrize("model", [RegistryVersion, RegistryLifecycle])
def test_scalar_event_fields_are_declared_in_canonical_order(
    model: type[RegistryVersion | RegistryLifecycle],
) -> None:
    names = list(model.model_fields)
    assert names == sorted(names)


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40), st.integers(1, 2**53 - 1))
def test_scalar_event_payload_is_its_rfc8785_canonical_json(actor: str, agent: str, number: int) -> None:
    event = version(agent, 2, follows=3).model_copy(update={"actor": actor, "version": number})
    assert event.payload() == canonical_json(event.model_dump(mode="json"))
    lifecycle_event = lifecycle(agent, "suspend", follows=None).model_copy(update={"actor": actor})
    assert lifecycle_event.payload() == canonical_json(lifecycle_event.model_dump(mode="json"))


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(-1e6, 1e6)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=8), _json, max_size=4), st.datetimes(timezones=st.timezones()))
def test_event_payload_is_the_canonical_json_of_its_dump(data: dict[str, Any], when: datetime) -> None:
    action = ActionEvent(kind="guard.call", actor="guard:s1", subject="alice", data=data, time=when)
    noted = NoteEvent(actor="ops", subject="agent-1", data=data, text="checked", time=when)
    for event in (action, noted):
        assert event.payload() == canonical_json(event.model_dump(mode="json"))


_NAMES = st.sampled_from(["", "alice", "guard:s1", "x" * 512, "x" * 513, "é王", "lone \udc00"])
_KINDS = st.sampled_from(["guard.call", "authority.decision", "note", "guard.nope"])


def _payload_by_model(kind: str, subject: str, actor: str, data: dict[str, Any], when: datetime) -> bytes:
    try:
        return ActionEvent(kind=kind, subject=subject, actor=actor, data=data, time=when).payload()
    except ValueError as exc:  # pydantic's ValidationError
        raise InvalidInput(str(exc)) from exc


@given(
    _KINDS,
    _NAMES,
    _NAMES,
    st.dictionaries(st.text(max_size=8), _json, max_size=4),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))])),
)
def test_an_action_payload_written_without_the_model_is_the_models_payload(
    kind: str, subject: str, actor: str, data: dict[str, Any], when: datetime
) -> None:
    # The events every guarded call writes skip the model: same bytes, same refusals.
    try:
        expected = _payload_by_model(kind, subject, actor, data, when)
    except InvalidInput:
        with pytest.raises(InvalidInput):
            action_payload(kind, subject, actor, data, when)
        return
    assert action_payload(kind, subject, actor, data, when) == expected
    assert parse_event(expected).payload() == expected


def test_an_action_payload_refuses_a_naive_time_and_a_value_json_cannot_hold() -> None:
    with pytest.raises(InvalidInput):
        action_payload("guard.call", "alice", "guard:s1", {}, datetime(2026, 11, 21))  # noqa: DTZ001
    with pytest.raises(InvalidInput):
        action_payload("guard.call", "alice", "guard:s1", {"at": START}, START)
    with pytest.raises(InvalidInput):
        action_payload("guard.call", "alice", "guard:s1", {"n": float("nan")}, START)


@given(
    st.integers(0, 2**53 - 1),
    st.one_of(st.none(), st.integers(0, 2**53 - 1)),
    st.datetimes(timezones=st.just(UTC)),
)
def test_leaf_bytes_are_canonical_json(index: int, follows: int | None, when: datetime) -> None:
    prepared = prepare(note(1).model_copy(update={"time": when}))
    leaf = leaf_bytes(index, prepared.kind, prepared.time, prepared.digest, follows)
    assert leaf == canonical_json(json.loads(leaf))
    assert parse_leaf(leaf).to_bytes() == leaf


def test_leaf_time_is_the_payload_time() -> None:
    prepared = prepare(note(7))
    assert json.loads(prepared.payload)["time"] == prepared.time


def test_no_personal_data_enters_a_leaf() -> None:
    event = note(1, actor="user:13800138000")
    prepared = prepare(event)
    leaf = leaf_bytes(0, prepared.kind, prepared.time, prepared.digest, None)
    assert b"13800138000" not in leaf
    assert b"session-1" not in leaf
    assert set(json.loads(leaf)) == {"index", "kind", "payload_digest", "time"}


def test_the_same_event_twice_gets_unlinkable_digests() -> None:
    assert prepare(note(1)).digest != prepare(note(1)).digest  # a fresh salt each time


def test_event_over_64_kib_is_refused() -> None:
    big = NoteEvent(actor="a", subject="s", time=START, data={"blob": "x" * MAX_PAYLOAD_BYTES})
    with pytest.raises(PayloadTooLarge):
        prepare(big)


def test_naive_time_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_event(json.dumps({"kind": "note", "actor": "a", "subject": "s", "time": "2026-11-21T09:00:00"}))


def test_times_in_other_zones_are_stored_in_utc() -> None:
    event = note(0).model_copy(update={"time": START.astimezone(timezone(timedelta(hours=8)))})
    event = NoteEvent.model_validate(event.model_dump())
    assert prepare(event).time == "2026-11-21T09:00:00Z"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_event(
            b'{"kind": "registry.delete", "actor": "a", "subject": "s", "time": "2026-11-21T09:00:00Z"}'
        )


def test_events_round_trip_byte_for_byte() -> None:
    for event in (note(3), version("urn:agent:a", 2, 0), lifecycle("urn:agent:a", "suspend", 1)):
        assert parse_event(event.payload()).payload() == event.payload()


def _stored(event: NoteEvent | RegistryVersion) -> tuple[bytes, bytes, bytes]:
    prepared = prepare(event)
    return leaf_bytes(0, prepared.kind, prepared.time, prepared.digest, None), prepared.payload, prepared.salt


def test_entry_with_its_payload_reads_ok() -> None:
    leaf, payload, salt = _stored(note(1))
    view = open_entry(0, leaf, payload, salt)
    assert view.status == "ok"
    assert view.event == note(1)


def test_erased_entry_reads_erased_not_tampered() -> None:
    leaf, _, _ = _stored(note(1))
    view = open_entry(0, leaf, None, None)
    assert view.status == "erased"
    assert view.event is None


def test_modified_payload_reads_tampered() -> None:
    leaf, payload, salt = _stored(note(1))
    view = open_entry(0, leaf, payload.replace(b"note 1", b"note 2"), salt)
    assert view.status == "tampered"


def test_payload_of_another_entry_reads_tampered() -> None:
    leaf, _, _ = _stored(note(1))
    _, other_payload, other_salt = _stored(note(2))
    assert open_entry(0, leaf, other_payload, other_salt).status == "tampered"


@pytest.mark.parametrize(
    "leaf",
    [
        b'{"index":0, "kind":"note","payload_digest":"sha256:00","time":"t"}',
        b'{"kind":"note","index":0,"payload_digest":"sha256:00","time":"t"}',
        b'{"index":true,"kind":"note","payload_digest":"sha256:00","time":"t"}',
        b'{"index":0,"kind":"note","payload_digest":"sha256:00","time":"t","extra":1}',
        b"not json",
    ],
    ids=["whitespace", "unsorted", "boolean-index", "extra-member", "not-json"],
)
def test_non_canonical_or_foreign_leaves_are_refused(leaf: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_leaf(leaf)


def test_text_that_no_json_can_carry_is_refused() -> None:
    for event in (version("urn:agent:a", 1, None), note(1)):
        with pytest.raises(InvalidInput):
            prepare(event.model_copy(update={"actor": "lone \udc00 surrogate"}))

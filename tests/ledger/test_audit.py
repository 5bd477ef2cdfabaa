"""Application links between registry events, as the recompute (fsck and verify) judges them."""

from __future__ import annotations

import pytest

from agentgov.ledger.audit import BrokenLink, TreeAudit
from agentgov.ledger.entries import AnyEvent, leaf_bytes, prepare
from tests.ledger.helpers import lifecycle, note, version

A = "urn:agent:acme.example:a"
B = "urn:agent:acme.example:b"


def audit_of(events: list[AnyEvent], erased: frozenset[int] = frozenset()) -> TreeAudit:
    audit = TreeAudit()
    for index, event in enumerate(events):
        p = prepare(event)
        leaf = leaf_bytes(index, p.kind, p.time, p.digest, p.follows)
        audit.add(leaf, None if index in erased else p.payload, None if index in erased else p.salt)
    return audit


def test_a_chain_of_registry_events_passes() -> None:
    audit_of(
        [version(A, 1, None), note(1), version(B, 1, None), version(A, 2, 0), lifecycle(A, "suspend", 3)]
    ).finish()


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([note(0), version(A, 2, 0)], "not an earlier registry event"),
        ([version(A, 1, None), version(A, 2, 5)], "not an earlier registry event"),
        (
            [version(A, 1, None), version(B, 1, None), version(A, 2, 1)],
            "follows entry 1 of urn:agent:acme.example:b",
        ),
        ([version(A, 1, None), version(A, 2, None)], "does not name its previous event 0"),
        (
            [version(A, 1, None), version(A, 2, 0), version(A, 3, 0)],
            "not urn:agent:acme.example:a's latest 1",
        ),
    ],
    ids=["follows-a-note", "follows-the-future", "follows-another-agent", "names-nothing", "skips-an-event"],
)
def test_broken_links_are_found(events: list[AnyEvent], message: str) -> None:
    with pytest.raises(BrokenLink, match=message):
        audit_of(events).finish()


def test_a_link_to_an_erased_event_cannot_be_judged_and_passes() -> None:
    audit_of(
        [version(A, 1, None), version(A, 2, 0), lifecycle(A, "suspend", 1)], erased=frozenset({1})
    ).finish()

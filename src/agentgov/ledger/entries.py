"""Typed events of the record (Art. 7), their canonical payloads and the leaves that commit to them.

An event is a pydantic model, one per ``kind``. Its payload is the RFC 8785 canonical JSON of the
event; it may name people (actors, subjects) and so never enters the tree. The leaf is a small
canonical JSON object ``{follows?, index, kind, payload_digest, time}`` where ``payload_digest`` is
``sha256(salt || payload)`` with a random 32-byte salt kept beside the payload. Erasing an entry
deletes payload and salt: the leaf, and every proof over it, still verify, and the salted digest
reveals nothing that could be matched against a guess (right to deletion, PIPL Art. 47).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, TypeAdapter

from agentgov.core.canonical import fast_canonical, simple_canonical
from agentgov.core.digest import DIGEST_PATTERN
from agentgov.core.randomness import RandomPool
from agentgov.errors import InvalidInput, PayloadTooLarge

__all__ = [
    "ACTION_KINDS",
    "MAX_PAYLOAD_BYTES",
    "REGISTRY_KINDS",
    "SALT_SIZE",
    "ActionEvent",
    "AnyEvent",
    "EntryFields",
    "EntryView",
    "Event",
    "Leaf",
    "NoteEvent",
    "PreparedEntry",
    "RegistryLifecycle",
    "RegistryVersion",
    "action_payload",
    "leaf_bytes",
    "leaves_from",
    "open_entry",
    "parse_event",
    "parse_leaf",
    "payload_digest",
    "prepare",
    "prepare_fields",
]

MAX_PAYLOAD_BYTES = 64 * 1024
"""An event is a record of one act, not a document store: 64 KiB holds any decision with the digests
of its arguments and evidence; the documents themselves belong elsewhere, named by digest."""

SALT_SIZE = 32  # 256 bits: the salted digest cannot be reversed by guessing the payload
MAX_SAFE_INT = 2**53 - 1  # RFC 8785 §3.2.2.3: integers must survive an IEEE 754 double
REGISTRY_KINDS = frozenset({"registry.version", "registry.lifecycle"})


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]
Digest = Annotated[str, Field(pattern=DIGEST_PATTERN)]
_NAME_CHARS = 512
Name = Annotated[str, Field(min_length=1, max_length=_NAME_CHARS)]
Index = Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
Word = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class _Event(BaseModel):
    # Fields are declared in code-point order in every kind whose values are all scalars: the JSON
    # pydantic writes is then already RFC 8785 canonical (§3.2.3 sorts members), checked by a test.
    model_config = ConfigDict(frozen=True, extra="forbid")

    def payload(self) -> bytes:
        """The RFC 8785 canonical JSON of the event: the bytes stored beside the tree.

        The fields as validated, already JSON values but the time, which is written as pydantic
        writes it: ``model_dump(mode="json")`` without walking ``data`` once more (a test holds the
        two equal). Every guarded call writes one of these.
        """
        values = dict(self.__dict__)
        values["time"] = _leaf_time(values["time"])
        return fast_canonical(values)


class _ScalarEvent(_Event):
    def payload(self) -> bytes:
        try:
            return self.__pydantic_serializer__.to_json(self)
        except ValueError as exc:  # e.g. a lone surrogate, which no JSON text can carry
            raise InvalidInput(f"event cannot be written as JSON: {exc}") from exc


class RegistryVersion(_ScalarEvent):
    """A version of an agent's declaration was published (Art. 4); ``follows`` is its last event."""

    actor: Name
    agent_id: Name
    digest: Digest
    follows: Index | None = None
    kind: Literal["registry.version"] = "registry.version"
    prev_digest: Digest | None = None
    subject: Name
    time: UtcTime
    version: Annotated[int, Field(ge=1, le=MAX_SAFE_INT)]


class RegistryLifecycle(_ScalarEvent):
    """A lifecycle move of an agent (Art. 11): suspend, recall...; ``follows`` is its last event."""

    action: Word
    actor: Name
    agent_id: Name
    evidence_digest: Digest | None = None
    follows: Index | None = None
    from_status: Word | None = None
    kind: Literal["registry.lifecycle"] = "registry.lifecycle"
    reason_digest: Digest | None = None
    subject: Name
    time: UtcTime
    to_status: Word


class NoteEvent(_Event):
    """A free-form note: an operator's statement, a demo event."""

    actor: Name
    data: dict[str, JsonValue] = Field(default_factory=dict)
    kind: Literal["note"] = "note"
    subject: Name
    text: Annotated[str, Field(max_length=4096)] = ""
    time: UtcTime


ACTION_KINDS = (
    # Art. 6 and 7: the authority (policy/, approvals/) and the runtime guard (guard/, gateway/).
    "authority.decision",
    "authority.dispute",
    "authority.grant.created",
    "authority.grant.revoked",
    "authority.policy.activated",
    "authority.policy.loaded",
    "authority.signing_key.set",
    "approval.approved",
    "approval.delegates",
    "approval.expired",
    "approval.refused",
    "approval.requested",
    "approval.used",
    "guard.call",
    "guard.result",
    "guard.session",
    "gateway.tool_change",
    "gateway.tool_approved",
)
ActionKind = Literal[ACTION_KINDS]  # type: ignore[valid-type]


class ActionEvent(_Event):
    """A decision, grant, approval, dispute or guarded call: what was decided about an agent's actions.

    ``subject`` is the user the action was for (Art. 6: the right to know), ``data`` the decision's
    reasons, digests and ids; arguments enter only as their digest.
    """

    actor: Name
    data: dict[str, JsonValue] = Field(default_factory=dict)
    kind: ActionKind
    subject: Name
    time: UtcTime


_ACTION_KIND_SET = frozenset(ACTION_KINDS)


def action_payload(kind: str, subject: str, actor: str, data: dict[str, Any], time: datetime) -> bytes:
    """``ActionEvent(kind=..., subject=..., actor=..., data=..., time=...).payload()``, the same bytes and
    the same refusals, without building the model when the values need none of its work: every guarded
    call writes one. Names, kind and time are checked here; the data is JSON the standard library
    writes canonically (strings, safe integers, booleans, null, lists, objects with ASCII member
    names) or the event takes the model's path. A property test holds the two equal.
    """
    if (
        kind in _ACTION_KIND_SET
        and type(subject) is str
        and type(actor) is str
        and 0 < len(subject) <= _NAME_CHARS
        and 0 < len(actor) <= _NAME_CHARS
        and time.tzinfo is UTC
        and type(data) is dict
    ):
        text: str = _to_json_value(time, mode="json")
        values = {"actor": actor, "data": data, "kind": kind, "subject": subject, "time": text}
        simple = simple_canonical(values)
        if simple is not None:
            return simple
    try:
        event = ActionEvent(kind=kind, subject=subject, actor=actor, data=data, time=time)
    except ValueError as exc:
        raise InvalidInput(f"not a ledger event: {exc}") from exc
    return event.payload()


AnyEvent = RegistryVersion | RegistryLifecycle | NoteEvent | ActionEvent
Event = Annotated[AnyEvent, Field(discriminator="kind")]
_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(Event)


def parse_event(data: bytes | str) -> AnyEvent:
    """An event from its JSON; InvalidInput names the first bad field."""
    try:
        return _EVENT.validate_json(data)
    except ValueError as exc:
        raise InvalidInput(f"not a ledger event: {exc}") from exc


# Salts straight from the OS's CSPRNG, a block at a time; a forked child never reuses its parent's (a
# salt shared with a readable entry would let a guess test an erased payload).
_SALTS = RandomPool(SALT_SIZE)


def payload_digest(salt: bytes, payload: bytes) -> str:
    """``sha256:<hex>`` of salt || payload: what the leaf commits to."""
    return "sha256:" + hashlib.sha256(salt + payload).hexdigest()


class PreparedEntry(NamedTuple):
    """An event made ready for the writer: everything but its index, which the writer assigns."""

    kind: str
    time: str
    follows: int | None
    payload: bytes
    salt: bytes
    digest: str


EntryFields = tuple[str, str, int | None, bytes, bytes, str]
"""The fields of a :class:`PreparedEntry` in a plain tuple, as the writer queues them."""


def prepare(event: AnyEvent, max_bytes: int = MAX_PAYLOAD_BYTES) -> PreparedEntry:
    return PreparedEntry._make(prepare_fields(event, max_bytes))


def prepare_fields(event: AnyEvent, max_bytes: int = MAX_PAYLOAD_BYTES) -> EntryFields:
    """:func:`prepare` as a plain tuple, for the writer's hot path (no NamedTuple built per event)."""
    payload = event.payload()
    if len(payload) > max_bytes:
        raise PayloadTooLarge(f"ledger event is {len(payload)} bytes, over the limit of {max_bytes}")
    salt = _SALTS.take()
    digest = "sha256:" + _sha256(salt + payload).hexdigest()
    time = event.time
    # pydantic's own text for a UTC time: _time_text's, three times faster (a property test holds it)
    text: str = _to_json_value(time, mode="json") if time.tzinfo is UTC else _leaf_time(time)
    return event.kind, text, getattr(event, "follows", None), payload, salt, digest


_sha256 = hashlib.sha256
_to_json_value = TypeAdapter(AwareDatetime).serializer.to_python


def _time_text(value: datetime) -> str:
    # The text pydantic writes for an aware UTC datetime (RFC 3339 with Z), identical to the payload's.
    text = value.isoformat()
    return text.removesuffix("+00:00") + "Z"


def _leaf_time(value: datetime) -> str:
    """The leaf's time: :func:`_time_text` of the time in UTC.

    A time in another zone (an event copied without validation) is first brought to UTC, as
    validation would have done, so that the leaf matches the payload when it is read back.
    """
    if value.tzinfo is None:
        raise InvalidInput("a ledger event's time must be timezone-aware")
    if value.tzinfo is UTC:
        text: str = _to_json_value(value, mode="json")
        return text
    return _time_text(value.astimezone(UTC))


def leaf_bytes(index: int, kind: str, time: str, digest: str, follows: int | None) -> bytes:
    """The canonical JSON of the leaf (RFC 8785): members in code-point order, no whitespace.

    Every value is a plain ASCII token (a kind literal, an RFC 3339 time, a digest, integers), so no
    escaping is needed and the formatted text is already canonical; a test checks it against JCS.
    """
    head = "" if follows is None else f'"follows":{follows},'
    return f'{{{head}"index":{index},"kind":"{kind}","payload_digest":"{digest}","time":"{time}"}}'.encode()


def leaves_from(first: int, entries: Iterable[tuple[str, str, int | None, str]]) -> list[bytes]:
    """The leaves of consecutive entries ``(kind, time, follows, digest)`` from index ``first``:
    :func:`leaf_bytes` in bulk."""
    return [
        (
            f'{{"index":{index},"kind":"{kind}","payload_digest":"{digest}","time":"{time}"}}'
            if follows is None
            else f'{{"follows":{follows},"index":{index},"kind":"{kind}",'
            f'"payload_digest":"{digest}","time":"{time}"}}'
        ).encode()
        for index, (kind, time, follows, digest) in enumerate(entries, first)
    ]


@dataclass(frozen=True, slots=True)
class Leaf:
    index: int
    kind: str
    time: str
    payload_digest: str
    follows: int | None = None

    def to_bytes(self) -> bytes:
        return leaf_bytes(self.index, self.kind, self.time, self.payload_digest, self.follows)


# The exact grammar of the leaves this log writes: canonical JSON (RFC 8785) with members in
# code-point order, integers without leading zeroes, and values that need no escaping. Any other bytes
# (reordered members, whitespace, escapes, extra members) are not a leaf of this log.
_LEAF = re.compile(
    rb'\{(?:"follows":(0|[1-9][0-9]{0,15}),)?"index":(0|[1-9][0-9]{0,15}),"kind":"([a-z][a-z0-9._-]{0,63})",'
    rb'"payload_digest":"(sha256:[0-9a-f]{64})","time":"([0-9][0-9:.TZ+-]{0,39})"\}'
)


def parse_leaf(data: bytes) -> Leaf:
    """Parse a leaf of this log; refuse anything but its canonical form."""
    match = _LEAF.fullmatch(data)
    if match is None:
        raise InvalidInput("not a canonical leaf of this log ({follows?, index, kind, payload_digest, time})")
    follows, index, kind, digest, time = match.groups()
    return Leaf(
        int(index), kind.decode(), time.decode(), digest.decode(), None if follows is None else int(follows)
    )


@dataclass(frozen=True, slots=True)
class EntryView:
    """One entry as read back: ``status`` is ok, erased (payload deleted on purpose) or tampered."""

    index: int
    leaf: Leaf
    status: Literal["ok", "erased", "tampered"]
    event: AnyEvent | None = None
    detail: str = ""


def open_entry(index: int, leaf: bytes, payload: bytes | None, salt: bytes | None) -> EntryView:
    """Check a stored payload against its leaf; the leaf itself is checked by the tree."""
    parsed = parse_leaf(leaf)
    if payload is None or salt is None:
        return EntryView(index, parsed, "erased", detail="payload erased")
    if not hmac.compare_digest(payload_digest(salt, payload), parsed.payload_digest):
        return EntryView(index, parsed, "tampered", detail="payload does not match the leaf's salted digest")
    try:
        event = parse_event(payload)
    except InvalidInput as exc:
        return EntryView(index, parsed, "tampered", detail=f"payload is not an event: {exc.detail}")
    seen = (event.kind, _time_text(event.time), getattr(event, "follows", None))
    if seen != (parsed.kind, parsed.time, parsed.follows):
        return EntryView(index, parsed, "tampered", detail="payload kind, time or link differs from the leaf")
    return EntryView(index, parsed, "ok", event)

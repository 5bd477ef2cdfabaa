"""Packs and the catalogue they add up to: tools, their kinds and typed arguments, settings.

A pack is Cedar text plus a manifest: which tools it speaks about (read-only or with side effects, the
action groups they belong to, the types of the arguments its fences read), the settings its fences use
(``Deployment::"current".known_payees``), and the sources it declares trusted. The merged catalogue
yields the Cedar schema every policy is validated against (Art. 7: rules embedded, checked when loaded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from agentgov.policy.errors import InvalidPack
from agentgov.policy.model import NEVER_TRUSTED, ArgumentName, Label, ToolKind, ToolName

__all__ = [
    "ArgType",
    "Catalog",
    "CedarTypeError",
    "DerivedSpec",
    "Pack",
    "SettingSpec",
    "ToolSpec",
    "to_cedar",
]

UNDECLARED_ACTION = "agentgov:undeclared-tool"
ArgType = Literal["String", "Long", "Bool", "decimal", "Set<String>"]
GroupName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}:[a-z0-9_.-]{1,64}$")]
PackName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
# Cedar decimal: a 64-bit integer of ten-thousandths.
_DECIMAL_STEP = Decimal("0.0001")
_DECIMAL_MAX = Decimal("922337203685477.5807")
_LONG_RANGE = range(-(2**63), 2**63)
_CONTEXT = (
    '"venue": Venue, "user": User, "time": Time, "provenance": Provenance, '
    '"data_categories": Set<String>, "grant": GrantFacts'
)
_BASE_SCHEMA = """entity User;
entity Agent;
entity Server;
entity Venue enum ["public", "private", "special"];
type Time = { "epoch": Long, "hour": Long, "weekday": Long };
type Provenance = { "untrusted_args": Set<String>, "sources": Set<String>, "user_args": Set<String> };
type GrantFacts = { "covered": Bool, "pinned": Set<String> };
"""


class CedarTypeError(ValueError):
    """A JSON value that is not of the Cedar type a tool manifest or setting declares."""


def _decimal(value: Any) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CedarTypeError("not a number")
    try:
        number = Decimal(str(value)).quantize(_DECIMAL_STEP, rounding=ROUND_HALF_EVEN)
    except InvalidOperation as exc:
        raise CedarTypeError("not a number") from exc
    if not number.is_finite() or abs(number) > _DECIMAL_MAX:
        raise CedarTypeError("out of the decimal range")
    return {"__extn": {"fn": "decimal", "arg": f"{number:f}"}}


def to_cedar(kind: ArgType, value: Any) -> Any:
    """``value`` in Cedar's JSON form for ``kind``; CedarTypeError when it is not of that type."""
    if kind == "String" and isinstance(value, str):
        return value
    if kind == "Bool" and isinstance(value, bool):
        return value
    if kind == "Long" and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON has one number type: 10.0 is the integer 10
        if isinstance(value, int) and value in _LONG_RANGE:
            return value
    if kind == "decimal":
        return _decimal(value)
    if kind == "Set<String>":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(v, str) for v in items):
            return items
    raise CedarTypeError(f"not a {kind}")


def _email_domain(value: str) -> str:
    address = value.strip().rstrip(">").rsplit("<", 1)[-1]
    return address.rsplit("@", 1)[1].strip().lower().rstrip(".") if "@" in address else ""


def _url_host(value: str) -> str:
    try:
        return (urlsplit(value.strip()).hostname or "").rstrip(".")
    except ValueError:
        return ""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DerivedSpec(_Model):
    """A fact computed from arguments, as ``Set<String>``: the mail domains or URL hosts they name.

    An argument value that is not a string yields ``""``, which no allow-list contains (fail closed).
    """

    take: Literal["email_domain", "url_host"]
    of: tuple[ArgumentName, ...] = Field(min_length=1)

    def compute(self, arguments: Mapping[str, Any]) -> list[str]:
        pick = _email_domain if self.take == "email_domain" else _url_host
        out: set[str] = set()
        for name in self.of:
            value = arguments.get(name)
            for item in [] if value is None else value if isinstance(value, list) else [value]:
                out.add(pick(item) if isinstance(item, str) else "")
        return sorted(out)


class ToolSpec(_Model):
    kind: ToolKind
    groups: tuple[GroupName, ...] = ()
    arguments: dict[ArgumentName, ArgType] = Field(default_factory=dict)
    derived: dict[ArgumentName, DerivedSpec] = Field(default_factory=dict)
    description: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _derived(self) -> ToolSpec:
        for name, spec in self.derived.items():
            if name in self.arguments:
                raise ValueError(f"derived fact {name!r} has the name of an argument")
            if missing := [a for a in spec.of if a not in self.arguments]:
                raise ValueError(f"derived fact {name!r} reads undeclared arguments {missing}")
        return self


class SettingSpec(_Model):
    type: ArgType
    default: JsonValue
    description: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _typed(self) -> SettingSpec:
        to_cedar(self.type, self.default)
        return self


class Pack(_Model):
    name: PackName
    description: str = Field(default="", max_length=2000)
    policies: str = Field(default="", max_length=1_000_000)
    tools: dict[ToolName, ToolSpec] = Field(default_factory=dict)
    settings: dict[ArgumentName, SettingSpec] = Field(default_factory=dict)
    trusted_sources: tuple[Label, ...] = ()

    @field_validator("trusted_sources")
    @classmethod
    def _trustable(cls, sources: tuple[str, ...]) -> tuple[str, ...]:
        if never := sorted(set(sources) & NEVER_TRUSTED):
            raise ValueError(f"these sources are never trusted: {never}")
        return sources


class Catalog:
    """The merged manifests of the loaded packs."""

    def __init__(self, packs: Sequence[Pack]) -> None:
        self.tools: dict[str, ToolSpec] = {}
        self.settings: dict[str, SettingSpec] = {}
        self.groups: dict[str, set[str]] = {}
        self.trusted_sources = frozenset(s for p in packs for s in p.trusted_sources)
        for pack in packs:
            for name, spec in pack.tools.items():
                self._add_tool(pack.name, name, spec)
            for name, setting in pack.settings.items():
                if name in self.settings and self.settings[name].type != setting.type:
                    raise InvalidPack(f"pack {pack.name}: setting {name!r} declared with another type")
                self.settings.setdefault(name, setting)

    def _add_tool(self, pack: str, name: str, spec: ToolSpec) -> None:
        known = self.tools.get(name)
        if known is not None:
            if (known.kind, known.arguments, known.derived) != (spec.kind, spec.arguments, spec.derived):
                raise InvalidPack(f"pack {pack}: tool {name!r} is declared differently by another pack")
            spec = known.model_copy(update={"groups": tuple(sorted({*known.groups, *spec.groups}))})
        self.tools[name] = spec
        for group in spec.groups:
            self.groups.setdefault(group, set()).add(name)

    @property
    def tool_kinds(self) -> dict[str, ToolKind]:
        return {name: spec.kind for name, spec in self.tools.items()}

    def setting_values(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Cedar JSON of every setting: its default unless overridden."""
        if unknown := sorted(set(overrides) - set(self.settings)):
            raise InvalidPack(f"unknown settings {unknown}; known: {sorted(self.settings)}", field="settings")
        out: dict[str, Any] = {}
        for name, spec in sorted(self.settings.items()):
            try:
                out[name] = to_cedar(spec.type, overrides.get(name, spec.default))
            except CedarTypeError as exc:
                raise InvalidPack(f"setting {name!r}: {exc}", field=f"settings.{name}") from exc
        return out

    def schema_text(self) -> str:
        lines = [_BASE_SCHEMA]
        attrs = ", ".join(f'"{n}": {s.type}' for n, s in sorted(self.settings.items()))
        lines.append(f"entity Deployment = {{ {attrs} }};" if attrs else "entity Deployment;")
        lines.extend(f'action "{group}";' for group in sorted(self.groups))
        # Tools no pack declares are checked against this stand-in: no typed arguments. Its name has a
        # ":" like a group's, so no tool can take it.
        lines.append(self._action(UNDECLARED_ACTION, [], ""))
        for name, spec in sorted(self.tools.items()):
            args = [f'"{a}"?: {t}' for a, t in sorted(spec.arguments.items())]
            args += [f'"{d}": Set<String>' for d in sorted(spec.derived)]
            quoted = ", ".join(f'"{g}"' for g in spec.groups)
            lines.append(self._action(name, args, f" in [{quoted}]" if spec.groups else ""))
        return "\n".join(lines) + "\n"

    @staticmethod
    def _action(name: str, args: list[str], member: str) -> str:
        return (
            f'action "{name}"{member} appliesTo {{ principal: [Agent], resource: [Server], '
            f'context: {{ {_CONTEXT}, "args": {{ {", ".join(args)} }} }} }};'
        )

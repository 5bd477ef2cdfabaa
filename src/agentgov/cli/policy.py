"""agentgov policy: behaviour fences (Art. 7): validate, load, activate, decide.

Also what the ``grants`` and ``approvals`` groups share: the authority services over the configured
store, and the principal a command acts as (``--api-key``, or the local administrator).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from agentgov.approvals.wiring import AuthorityServices, open_authority
from agentgov.cli.common import LOCAL_ADMIN, emit, engine, handle_errors, json_option, read_json_file
from agentgov.core.clock import SystemClock
from agentgov.core.validation import validate_model
from agentgov.errors import InvalidInput
from agentgov.identity.apikeys import Principal
from agentgov.identity.keystore import KeyStore
from agentgov.ledger.outbox import OutboxRecorder, OutboxStore
from agentgov.policy.catalog import Pack
from agentgov.policy.model import ActionRequest
from agentgov.policy.packs import available_packs
from agentgov.policy.store import Recorder
from agentgov.policy.versions import PolicyMode, PolicySource

__all__ = ["acting_as", "api_key_option", "authority", "policy", "recorder"]

api_key_option = click.option(
    "--api-key",
    envvar="AGENTGOV_API_KEY",
    default=None,
    help="Act as the holder of this key (a user key to grant or approve); default: the local admin.",
)


def recorder() -> Recorder:
    """Where the CLI's events go: the ledger outbox, appended by the writer (the server, or
    ``agentgov ledger sync``)."""
    return OutboxRecorder(OutboxStore(engine()), SystemClock())


def authority() -> AuthorityServices:
    return open_authority(engine(), SystemClock(), recorder())


def acting_as(api_key: str | None) -> Principal:
    if api_key is None:
        return LOCAL_ADMIN
    return KeyStore(engine(), SystemClock()).authenticate(api_key)


def _source(file: str, packs: tuple[str, ...]) -> PolicySource:
    """A policy-set document (JSON), or a Cedar file checked together with the shipped ``packs``."""
    if not file.endswith(".cedar"):
        if packs:
            raise InvalidInput("--pack goes with a .cedar file; a JSON document names its own packs")
        return validate_model(PolicySource, read_json_file(file))
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {file}: {exc}") from exc
    name = re.sub(r"[^a-z0-9_-]", "-", Path(file).stem.lower()).strip("-") or "local"
    extra = validate_model(Pack, {"name": name if name[0].isalpha() else f"p-{name}", "policies": text})
    return PolicySource(packs=packs, extra=(extra,))


def _summary(s: dict[str, Any]) -> str:
    lines = [s["digest"], f"  policies: {len(s['policies'])}", f"  tools:    {len(s['tools'])}"]
    lines.append(f"  user-only tools: {', '.join(s['user_only_tools']) or '-'}")
    return "\n".join(lines)


_PACK_OPTION = click.option(
    "--pack", "packs", multiple=True, help="A shipped pack to check a .cedar file with (repeatable)."
)


@click.group()
def policy() -> None:
    """Behaviour fences: policy set versions, deployments and decisions."""


@policy.command("packs")
@json_option
@handle_errors
def packs(as_json: bool) -> None:
    """The policy packs shipped with agentgov."""
    emit(list(available_packs()), as_json, "\n".join)


@policy.command("validate")
@click.argument("file", type=click.Path(allow_dash=True))
@_PACK_OPTION
@json_option
@handle_errors
def validate(file: str, packs: tuple[str, ...], as_json: bool) -> None:
    """Check a policy set (JSON: packs, extra, settings) or a .cedar file; store nothing."""
    emit(authority().authority.policies.validate(_source(file, packs)), as_json, _summary)


@policy.command("load")
@click.argument("file", type=click.Path(allow_dash=True))
@_PACK_OPTION
@json_option
@handle_errors
def load(file: str, packs: tuple[str, ...], as_json: bool) -> None:
    """Validate and store a policy set version; prints its digest."""
    emit(authority().authority.policies.load(LOCAL_ADMIN, _source(file, packs)), as_json, _summary)


@policy.command("activate")
@click.argument("digest")
@click.option(
    "--mode", type=click.Choice([m.value for m in PolicyMode]), default="enforce", show_default=True
)
@click.option("--deployment", default=None, help="Deployment name (default: the configured one).")
@json_option
@handle_errors
def activate(digest: str, mode: str, deployment: str | None, as_json: bool) -> None:
    """Make a stored version the active set of a deployment, enforced or in shadow mode."""
    done = authority().authority.policies.activate(LOCAL_ADMIN, digest, PolicyMode(mode), deployment)
    emit(done, as_json, lambda d: f"{d['deployment']}: {d['digest']} ({d['mode']})")


@policy.command("list")
@json_option
@handle_errors
def list_versions(as_json: bool) -> None:
    """Stored policy set versions, and the active one of each deployment."""
    policies = authority().authority.policies
    data = {"versions": policies.versions(LOCAL_ADMIN), "deployments": policies.deployments(LOCAL_ADMIN)}

    def text(d: dict[str, Any]) -> str:
        lines = [f"{v['digest']}  {v['policy_count']:>4} policies  {v['created_at']}" for v in d["versions"]]
        lines += [f"active {x['deployment']}: {x['digest']} ({x['mode']})" for x in d["deployments"]]
        return "\n".join(lines) or "no policy sets"

    emit(data, as_json, text)


@policy.command("decide")
@click.argument("request_file", type=click.Path(allow_dash=True))
@click.option("--deployment", default=None)
@json_option
@handle_errors
def decide(request_file: str, deployment: str | None, as_json: bool) -> None:
    """Decide an action request (JSON) with the active set, and record the decision."""
    request = validate_model(ActionRequest, read_json_file(request_file))
    made = authority().authority.decide(request, actor=LOCAL_ADMIN.actor, deployment=deployment)

    def text(d: dict[str, Any]) -> str:
        decision = d["decision"]
        head = f"{decision['applied_effect']}  ({decision.get('decision_class') or '-'}; {d['id']})"
        return "\n".join([head, *(f"  - {r}" for r in decision["reasons"])])

    emit(made.to_json(), as_json, text)

"""agentgov ledger: the verifiable record (Art. 7): keys, notes, checkpoints, proofs, export, verify."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import click

from agentgov.cli.common import emit, engine, handle_errors, json_option, read_json_file
from agentgov.core.clock import SystemClock
from agentgov.errors import AgentGovError, Conflict, InvalidInput
from agentgov.ledger.audit import EXIT_CODES, LedgerVerifyError
from agentgov.ledger.entries import NoteEvent
from agentgov.ledger.export import read_export, write_export
from agentgov.ledger.fsck import fsck
from agentgov.ledger.keyfiles import create_key_file, load_log_signer
from agentgov.ledger.note_keys import CosignatureV1Verifier, Ed25519NoteVerifier, parse_verifier_key
from agentgov.ledger.outbox import OutboxDrain, OutboxStore
from agentgov.ledger.service import LedgerService, LedgerSettings
from agentgov.ledger.verify import BundleDoc, ProofDoc, TrustedKeys, verify_bundles, verify_export
from agentgov.registry.recording import RegistryRecorder
from agentgov.registry.store import RegistryStore

__all__ = ["ledger"]

_CODES = "\n".join(f"  {c.exit_code:>2}  {c.title}" for c in EXIT_CODES)
_VERIFY_HELP = f"""Verify the record offline, from public keys and evidence only.

Give the log's verifier key, the checkpoints you hold (oldest first) and either a full export
(--export, recomputed entry by entry) or proof bundles (--bundle, with --consistency proofs to connect
checkpoints of different sizes). Checks signatures, the witness quorum, forks, rollbacks, inclusion,
consistency, a full recompute and the links between registry events.

\b
Exit codes:
   0  verified
   1  unusable input (unreadable file, malformed key or document)
{_CODES}
"""


def _settings(origin: str | None, key: str | None) -> LedgerSettings:
    settings = LedgerSettings.from_env()
    if origin:
        settings = replace(settings, origin=origin)
    if key:
        settings = replace(settings, key_path=Path(key))
    return settings


def _service(origin: str | None, key: str | None) -> LedgerService:
    return LedgerService.open(engine(), _settings(origin, key), SystemClock())


def _text_arg(value: str) -> str:
    """A key or note given inline, or as @FILE."""
    if not value.startswith("@"):
        return value
    try:
        return Path(value[1:]).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {value[1:]}: {exc.strerror}") from exc


origin_option = click.option("--origin", default=None, help="Log origin (default: AGENTGOV_LEDGER_ORIGIN).")
key_option = click.option(
    "--key", default=None, help="Log key file (default: AGENTGOV_LEDGER_KEY, var/ledger-log.key)."
)


@click.group()
def ledger() -> None:
    """The verifiable record: a transparency log of agent behaviour (Art. 7)."""


@ledger.command("keygen")
@origin_option
@key_option
@handle_errors
def keygen(origin: str | None, key: str | None) -> None:
    """Create the log's signing key (never overwrites one); print its verifier key."""
    settings = _settings(origin, key)
    click.echo(create_key_file(settings.key_path, settings.origin))


@ledger.command("vkey")
@origin_option
@key_option
@handle_errors
def vkey(origin: str | None, key: str | None) -> None:
    """Print the log's verifier key (what verifiers and witnesses trust)."""
    settings = _settings(origin, key)
    click.echo(load_log_signer(settings.key_path, settings.origin).verifier().verifier_key())


@ledger.command("note")
@click.argument("text")
@click.option("--subject", default="ledger", show_default=True)
@click.option("--actor", default="local-cli", show_default=True)
@origin_option
@key_option
@handle_errors
def note(text: str, subject: str, actor: str, origin: str | None, key: str | None) -> None:
    """Append a note event; print its index once it is durably sequenced."""
    service = _service(origin, key).start(schedule=False)
    try:
        click.echo(
            service.record(NoteEvent(actor=actor, subject=subject, text=text, time=SystemClock().now()))
        )
    finally:
        service.close()


@ledger.command("sync")
@origin_option
@key_option
@handle_errors
def sync(origin: str | None, key: str | None) -> None:
    """Become the writer briefly: append what the outbox and the registry left unrecorded, then publish.

    A running server does this continuously; this is for a store no server is serving.
    """
    eng = engine()
    service = _service(origin, key)
    try:
        service.start(schedule=False)
    except Conflict as exc:
        raise Conflict(f"{exc}: the running server records these itself") from exc
    try:
        registry = RegistryRecorder(RegistryStore(eng), service).record_pending()
        actions = OutboxDrain(OutboxStore(eng), service).drain_once()
        published = service.publish()
    finally:
        service.close()
    click.echo(
        f"recorded {registry} registry and {actions} outboxed events; checkpoint at size {published.size}"
    )


@ledger.command("checkpoint")
@origin_option
@key_option
@handle_errors
def checkpoint(origin: str | None, key: str | None) -> None:
    """Sign a checkpoint of the integrated tree now, collect cosignatures, print it."""
    service = _service(origin, key)
    service.publish()
    click.echo(service.checkpoint(), nl=False)


@ledger.command("entry")
@click.argument("index", type=click.IntRange(0))
@origin_option
@key_option
@json_option
@handle_errors
def entry(index: int, origin: str | None, key: str | None, as_json: bool) -> None:
    """Show one entry: ok, erased or tampered."""
    view, _ = _service(origin, key).reader.entry(index)
    data = {
        "index": index,
        "kind": view.leaf.kind,
        "time": view.leaf.time,
        "status": view.status,
        "detail": view.detail,
        "event": view.event.model_dump(mode="json") if view.event else None,
    }
    emit(data, as_json, lambda d: f"{d['index']}  {d['kind']}  {d['time']}  {d['status']}  {d['detail']}")


@ledger.command("erase")
@click.argument("index", type=click.IntRange(0))
@origin_option
@key_option
@handle_errors
def erase(index: int, origin: str | None, key: str | None) -> None:
    """Erase an entry's payload and salt (right to deletion); proofs still hold."""
    erased = _service(origin, key).erase(index)
    click.echo(f"erased entry {index}" if erased else f"entry {index} was already erased")


@ledger.command("fsck")
@origin_option
@key_option
@json_option
@handle_errors
def fsck_command(origin: str | None, key: str | None, as_json: bool) -> None:
    """Recompute the stored tree and check every stored hash, checkpoint, payload and link."""
    report = fsck(_service(origin, key).store)
    emit(
        asdict(report),
        as_json,
        lambda d: f"ok: {d['size']} entries, {d['checkpoints']} checkpoints, {d['erased']} erased",
    )


@ledger.command("bundle")
@click.argument("index", type=click.IntRange(0))
@click.option("--since", multiple=True, type=click.IntRange(1), help="Sizes of checkpoints you hold.")
@click.option("--payload", is_flag=True, help="Include the payload and its salt (personal data).")
@origin_option
@key_option
@handle_errors
def bundle(index: int, since: tuple[int, ...], payload: bool, origin: str | None, key: str | None) -> None:
    """Print the proof bundle of one entry (JSON) for offline verification."""
    click.echo(json.dumps(_service(origin, key).bundle(index, since, with_payload=payload), indent=2))


@ledger.command("export")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--payloads", is_flag=True, help="Include payloads and salts (personal data).")
@origin_option
@key_option
@handle_errors
def export(out_path: str, payloads: bool, origin: str | None, key: str | None) -> None:
    """Write a full export (every leaf and the signed checkpoints) for `ledger verify --export`."""
    service = _service(origin, key)
    notes = [service.publisher.cosigned_note(c) for c in service.store.checkpoints()]
    with Path(out_path).open("w", encoding="utf-8") as out:
        count = write_export(
            service.store,
            out,
            origin=service.publisher.origin,
            vkey=service.vkey(),
            notes=notes,
            with_payloads=payloads,
        )
    click.echo(f"exported {count} entries and {len(notes)} checkpoints to {out_path}")


@ledger.command("verify", help=_VERIFY_HELP)
@click.option("--vkey", "log_vkey", required=True, help="The log's verifier key, inline or @FILE.")
@click.option(
    "--witness-vkey", multiple=True, help="A witness's cosignature/v1 verifier key, inline or @FILE."
)
@click.option("--quorum", default=0, show_default=True, type=click.IntRange(0), help="Cosignatures required.")
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    help="A checkpoint file you hold; repeat, oldest first.",
)
@click.option("--export", "export_path", type=click.Path(dir_okay=False, exists=True), help="A full export.")
@click.option("--bundle", "bundles", multiple=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--consistency", "proofs", multiple=True, type=click.Path(dir_okay=False, exists=True))
@json_option
def verify(
    *,
    log_vkey: str,
    witness_vkey: tuple[str, ...],
    quorum: int,
    checkpoints: tuple[str, ...],
    export_path: str | None,
    bundles: tuple[str, ...],
    proofs: tuple[str, ...],
    as_json: bool,
) -> None:
    try:
        log_key = parse_verifier_key(_text_arg(log_vkey).strip())
        witness_keys = [parse_verifier_key(_text_arg(w).strip()) for w in witness_vkey]
        if not isinstance(log_key, Ed25519NoteVerifier):
            raise InvalidInput("the log key must be an Ed25519 note key (type 0x01)")
        if not all(isinstance(w, CosignatureV1Verifier) for w in witness_keys):
            raise InvalidInput("witness keys must be cosignature/v1 keys (type 0x04)")
        keys = TrustedKeys(
            log_key, tuple(w for w in witness_keys if isinstance(w, CosignatureV1Verifier)), quorum
        )
        history = [_text_arg(f"@{path}") for path in checkpoints]
        if export_path is not None and not bundles:
            with read_export(Path(export_path)) as (header, rows):
                report = verify_export(rows, keys, history, header.checkpoints)
        elif bundles and export_path is None:
            docs = [BundleDoc.model_validate(read_json_file(b)) for b in bundles]
            extra = [ProofDoc.model_validate(read_json_file(p)) for p in proofs]
            report = verify_bundles(docs, keys, history, extra)
        else:
            raise InvalidInput("give either --export or one or more --bundle")
    except LedgerVerifyError as exc:
        click.echo(f"FAIL [{exc.code}]: {exc.detail}", err=True)
        sys.exit(exc.exit_code)
    except (AgentGovError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, AgentGovError) else str(exc).splitlines()[0]
        click.echo(f"error: {detail}", err=True)
        sys.exit(1)
    emit(
        asdict(report),
        as_json,
        lambda d: (
            f"verified: {d['origin']} size {d['size']}, {d['checkpoints']} checkpoints,"
            f" {d['entries']} entries ({d['without_payload']} without payload),"
            f" at least {d['min_cosignatures']} cosignatures each"
        ),
    )

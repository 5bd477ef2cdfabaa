"""agentgov witness: run a C2SP tlog-witness that cosigns checkpoints of the logs it trusts."""

from __future__ import annotations

from pathlib import Path

import click
import uvicorn

from agentgov.cli.common import handle_errors
from agentgov.core.clock import SystemClock
from agentgov.errors import InvalidInput
from agentgov.ledger.keyfiles import create_key_file, load_cosigner
from agentgov.ledger.note_keys import Ed25519NoteVerifier, parse_verifier_key
from agentgov.ledger.witness import FileWitnessState, Witness
from agentgov.ledger.witness_http import witness_app

__all__ = ["witness"]


def _key_text(value: str) -> str:
    if not value.startswith("@"):
        return value.strip()
    try:
        return Path(value[1:]).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InvalidInput(f"cannot read {value[1:]}: {exc.strerror}") from exc


@click.group()
def witness() -> None:
    """A transparency-log witness (C2SP tlog-witness): checks consistency, then cosigns."""


@witness.command("keygen")
@click.option("--name", required=True, help="The witness's key name, e.g. witness.example.org/w1.")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False), help="Key file to create.")
@handle_errors
def keygen(name: str, key_path: str) -> None:
    """Create a witness key (cosignature/v1); print its verifier key for the logs to configure."""
    click.echo(create_key_file(Path(key_path), name, witness=True))


@witness.command("vkey")
@click.option("--key", "key_path", required=True, type=click.Path(dir_okay=False, exists=True))
@handle_errors
def vkey(key_path: str) -> None:
    """Print the witness's verifier key."""
    click.echo(load_cosigner(Path(key_path), SystemClock()).verifier().verifier_key())


@witness.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--key", "key_path", required=True, type=click.Path(dir_okay=False, exists=True), help="Witness key file."
)
@click.option(
    "--state", "state_path", required=True, type=click.Path(dir_okay=False), help="State file (JSON)."
)
@click.option(
    "--log-vkey", "log_vkeys", multiple=True, required=True, help="A trusted log key, inline or @FILE."
)
@handle_errors
def serve(host: str, port: int, key_path: str, state_path: str, log_vkeys: tuple[str, ...]) -> None:
    """Serve POST /add-checkpoint for the logs whose verifier keys are given (origin = key name)."""
    logs = [parse_verifier_key(_key_text(v)) for v in log_vkeys]
    if not all(isinstance(log, Ed25519NoteVerifier) for log in logs):
        raise InvalidInput("log keys must be Ed25519 note keys (type 0x01)")
    cosigner = load_cosigner(Path(key_path), SystemClock())
    state = FileWitnessState(Path(state_path))
    state.load()  # refuse to start on an unreadable state rather than forget what was cosigned
    app = witness_app(Witness(cosigner, logs, state))
    click.echo(f"witness {cosigner.name} on http://{host}:{port}/add-checkpoint for {len(logs)} log key(s)")
    uvicorn.run(app, host=host, port=port, log_level="info")

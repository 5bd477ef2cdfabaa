"""Key files of the log and of witnesses, and the atomic file write they (and witness state) share.

A key file holds one signer key text, ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>`` (the
golang.org/x/mod/sumdb/note form), with type 0x01 for a log key (Ed25519 note signatures) and 0x04
for a witness key (cosignature/v1). Files are created with mode 0600 and never overwritten.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from agentgov.core.clock import Clock
from agentgov.core.keys import Ed25519Signer, b64decode_any
from agentgov.errors import Conflict, InvalidInput, NotFound
from agentgov.ledger.note import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    MalformedNote,
    check_key_name,
    key_id,
)
from agentgov.ledger.note_keys import CosignatureV1Signer, Ed25519NoteSigner, format_verifier_key

__all__ = [
    "DEFAULT_LOG_KEY_PATH",
    "atomic_write",
    "create_key_file",
    "load_cosigner",
    "load_log_signer",
    "load_or_create_log_signer",
]

DEFAULT_LOG_KEY_PATH = Path("var") / "ledger-log.key"
_PREFIX = "PRIVATE+KEY+"
_SEED_SIZE = 32


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600, exclusive: bool = False) -> None:
    """Write ``data`` so that readers see the old file or the new one, never a mix, even after a crash.

    Write a temporary file in the same directory, fsync it, rename it over ``path`` and fsync the
    directory (the rename itself must survive a power cut).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive and path.exists():
        raise Conflict(f"{path} already exists; refusing to overwrite it")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if exclusive:
        try:
            os.link(temporary, path)  # fails if path appeared meanwhile: never clobber a key
        except FileExistsError:
            raise Conflict(f"{path} already exists; refusing to overwrite it") from None
        finally:
            os.unlink(temporary)
    else:
        os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _signer_text(name: str, sig_type: int, signer: Ed25519Signer) -> str:
    identifier = key_id(name, sig_type, signer.public_key_bytes()).hex()
    material = base64.b64encode(bytes([sig_type]) + signer.seed()).decode("ascii")
    return f"{_PREFIX}{check_key_name(name)}+{identifier}+{material}"


def create_key_file(path: Path, name: str, *, witness: bool = False) -> str:
    """Generate a key into a new file (never overwriting one); return its verifier key text."""
    sig_type = SIG_TYPE_COSIGNATURE_V1 if witness else SIG_TYPE_ED25519
    signer = Ed25519Signer.generate()
    atomic_write(path, (_signer_text(name, sig_type, signer) + "\n").encode(), exclusive=True)
    return format_verifier_key(name, sig_type, signer.public_key_bytes())


def _read(path: Path, sig_type: int) -> tuple[str, Ed25519Signer]:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise NotFound(f"no key file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the key file {path}: {exc}") from exc
    if not text.startswith(_PREFIX):
        raise MalformedNote(f"{path} does not hold a signer key (PRIVATE+KEY+...)")
    name, _, rest = text.removeprefix(_PREFIX).partition("+")
    hex_id, _, material = rest.partition("+")
    raw = b64decode_any(material)
    if len(raw) != 1 + _SEED_SIZE or raw[0] != sig_type:
        raise MalformedNote(f"{path} holds a key of another type or size (expected type 0x{sig_type:02x})")
    signer = Ed25519Signer.from_seed(raw[1:])
    if key_id(name, sig_type, signer.public_key_bytes()).hex() != hex_id:
        raise MalformedNote(f"the key ID in {path} does not match its name and key")
    return name, signer


def load_log_signer(path: Path, origin: str | None = None) -> Ed25519NoteSigner:
    """The log's note signer; its name must be the log's origin (C2SP tlog-checkpoint)."""
    name, signer = _read(path, SIG_TYPE_ED25519)
    if origin is not None and name != origin:
        raise InvalidInput(f"the log key in {path} is named {name!r}, the log's origin is {origin!r}")
    return Ed25519NoteSigner(name, signer)


def load_or_create_log_signer(path: Path, origin: str) -> Ed25519NoteSigner:
    if not path.exists():
        create_key_file(path, origin)
    return load_log_signer(path, origin)


def load_cosigner(path: Path, clock: Clock) -> CosignatureV1Signer:
    """A witness's cosignature/v1 signer from its key file."""
    name, signer = _read(path, SIG_TYPE_COSIGNATURE_V1)
    return CosignatureV1Signer(name, signer, clock)

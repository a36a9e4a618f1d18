"""The server's checkpoint signing key (Ed25519).

Taken from ``DELTATRACE_LEDGER_KEY`` (base64 of the 32-byte private seed) or generated on first use
into ``DATA_DIR/ledger_key`` (mode 0600). The key name is the log origin (``DELTATRACE_LEDGER_ORIGIN``,
default ``deltatrace.local/ledger``). Rotation is itself a ledger entry (``key.rotated``), endorsed by
the old key; retired public keys stay in ``SigningKey`` and are published at ``/api/ledger/keys``.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.conf import settings

from deltatrace.secretfile import read_or_create, write_new
from ledger import note

ENV_KEY = "DELTATRACE_LEDGER_KEY"
ENV_ORIGIN = "DELTATRACE_LEDGER_ORIGIN"
DEFAULT_ORIGIN = "deltatrace.local/ledger"


class LedgerKeyError(RuntimeError):
    """The signing key cannot be loaded or rotated."""


@dataclass(frozen=True)
class ServerKey:
    name: str
    private_key: Ed25519PrivateKey
    public_key: bytes
    source: str  # "env" or "file"

    @property
    def key_id(self) -> str:
        return note.key_id(self.name, self.public_key).hex()

    @property
    def vkey(self) -> str:
        return note.verifier_key(self.name, self.public_key)

    def verifier(self) -> note.Verifier:
        return note.Verifier.parse(self.vkey)


_lock = threading.Lock()
_cache: dict[tuple[str, str, str], ServerKey] = {}


def origin() -> str:
    return str(getattr(settings, "LEDGER_ORIGIN", "") or os.environ.get(ENV_ORIGIN, DEFAULT_ORIGIN))


def key_path() -> Path:
    return Path(settings.DATA_DIR) / "ledger_key"


def _seed(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _from_b64(text: str, where: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as exc:
        raise LedgerKeyError(f"{where}: not base64") from exc
    if len(raw) != 32:
        raise LedgerKeyError(f"{where}: an Ed25519 seed is 32 bytes, got {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def write_key_file(path: Path, key: Ed25519PrivateKey) -> None:
    """Create ``path`` (mode 0600) atomically; raise FileExistsError rather than overwrite a key."""
    write_new(path, _key_text(key))


def _key_text(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(_seed(key)).decode() + "\n"


def _load() -> tuple[Ed25519PrivateKey, str]:
    env = os.environ.get(ENV_KEY, "")
    if env:
        return _from_b64(env, ENV_KEY), "env"
    path = key_path()
    # Whoever creates the key file first wins; every process then signs with that one key.
    text = read_or_create(path, lambda: _key_text(Ed25519PrivateKey.generate()))
    return _from_b64(text, str(path)), "file"


def server_key() -> ServerKey:
    """The current signing key (cached per process; reloaded when the key file changes)."""
    path = key_path()
    st = path.stat() if path.exists() else None
    stamp = f"{st.st_ino}:{st.st_mtime_ns}" if st else ""
    cache_key = (os.environ.get(ENV_KEY, ""), str(path), stamp)
    with _lock:
        key = _cache.get(cache_key)
        if key is None:
            private, source = _load()
            key = ServerKey(origin(), private, note.public_bytes(private.public_key()), source)
            _cache.clear()
            _cache[cache_key] = key
        return key


def register(key: ServerKey, using: str = "default") -> None:
    """Publish the key's public half (idempotent)."""
    from ledger.models import SigningKey

    SigningKey.objects.using(using).get_or_create(
        key_id=key.key_id,
        defaults={"name": key.name, "public_key": key.public_key, "source": key.source},
    )


def published_verifiers(using: str = "default") -> list[note.Verifier]:
    """Verifiers for every published key, current and retired."""
    from ledger.models import SigningKey

    return [
        note.Verifier.parse(note.verifier_key(k.name, bytes(k.public_key)))
        for k in SigningKey.objects.using(using).all()
    ]


def rotate_key(actor: str, using: str = "default") -> tuple[ServerKey, ServerKey]:
    """Replace the file key with a new one; log ``key.rotated`` (endorsed by the old key).

    The new key is written beside the old one first and swapped in only after the ledger entry
    commits, so a failed rotation leaves the old key in place. Returns (old, new).
    """
    from django.db import transaction
    from django.utils import timezone

    from ledger import log
    from ledger.models import SigningKey

    old = server_key()
    if old.source == "env":
        raise LedgerKeyError(f"the key comes from {ENV_KEY}: rotate by setting a new value there")
    path = key_path()
    pending = path.with_name("ledger_key.next")
    pending.unlink(missing_ok=True)
    new_private = Ed25519PrivateKey.generate()
    write_key_file(pending, new_private)
    new = ServerKey(old.name, new_private, note.public_bytes(new_private.public_key()), "file")

    def swap() -> None:
        path.rename(path.with_name(f"ledger_key.retired-{old.key_id}"))
        pending.rename(path)
        log.sign_checkpoint(using=using, force=True)

    try:
        with transaction.atomic(using=using):
            register(old, using)
            endorsement = old.private_key.sign(f"key.rotated\n{new.vkey}\n".encode())
            log.append(
                "key.rotated",
                actor,
                new.vkey,
                {
                    "old_key_id": old.key_id,
                    "new_key_id": new.key_id,
                    "new_vkey": new.vkey,
                    "endorsement": base64.b64encode(endorsement).decode(),
                },
                using=using,
            )
            SigningKey.objects.using(using).filter(key_id=old.key_id).update(retired=timezone.now())
            register(new, using)
            transaction.on_commit(swap, using=using)
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    return old, new

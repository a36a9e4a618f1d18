"""C2SP signed notes and tlog checkpoints with Ed25519 (c2sp.org/signed-note, c2sp.org/tlog-checkpoint).

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> <base64(key id (4 bytes) || signature)>``. The Ed25519 key id is the first four bytes of
SHA-256(name || 0x0A || 0x01 || public key). A checkpoint note's text is three lines: origin, tree
size (decimal) and the base64 root hash. Pure: no Django.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
SIG_PREFIX = "— "  # em dash, space


class NoteError(ValueError):
    """A malformed note, checkpoint or key, or a signature that does not verify."""


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty without spaces or '+'")


def verifier_key(name: str, public_key: bytes) -> str:
    """The vkey string ``name+hex(id)+base64(0x01 || key)`` that verifiers configure."""
    _check_name(name)
    blob = base64.b64encode(bytes([ALG_ED25519]) + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{blob}"


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        try:
            name, hex_id, blob = vkey.strip().split("+", 2)
            raw = base64.b64decode(blob, validate=True)
            kid = bytes.fromhex(hex_id)
        except (ValueError, binascii.Error) as exc:
            raise NoteError(f"malformed verifier key: {exc}") from exc
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key")
        if len(kid) != 4 or key_id(name, raw[1:]) != kid:
            raise NoteError("verifier key id does not match its name and key")
        return cls(name, kid, Ed25519PublicKey.from_public_bytes(raw[1:]))


def sign(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note: ``text`` (must end in a newline), a blank line and one signature line."""
    _check_name(name)
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("note text must end in a newline and contain no blank line")
    kid = key_id(name, public_bytes(private_key.public_key()))
    sig = private_key.sign(text.encode())
    return f"{text}\n{SIG_PREFIX}{name} {base64.b64encode(kid + sig).decode()}\n"


def open_note(note: str, verifiers: list[Verifier]) -> str:
    """Return the note's text if at least one signature verifies with a known key; else raise."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    text += "\n"
    known = {(v.name, v.key_id): v for v in verifiers}
    verified = False
    for line in sigs[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"malformed signature line {line[:40]!r}")
        try:
            name, blob = line[len(SIG_PREFIX) :].split(" ")
            raw = base64.b64decode(blob, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError(f"malformed signature line: {exc}") from exc
        v = known.get((name, raw[:4]))
        if v is None or len(raw) != 68:
            continue  # signatures by unknown keys are ignored, as the spec says
        try:
            v.public_key.verify(raw[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError(f"invalid signature by {name}") from exc
        verified = True
    if not verified:
        raise NoteError("no signature by a known key")
    return text


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("checkpoint needs origin, size and root hash lines")
        origin, size_s, root_b64 = lines[0], lines[1], lines[2]
        if not origin or not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
            raise NoteError("malformed checkpoint origin or size")
        try:
            root = base64.b64decode(root_b64, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed checkpoint root hash") from exc
        if len(root) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        return cls(origin, int(size_s), root)


def sign_checkpoint(cp: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    return sign(cp.text(), name, private_key)


def open_checkpoint(note: str, verifiers: list[Verifier], origin: str | None = None) -> Checkpoint:
    cp = Checkpoint.parse(open_note(note, verifiers))
    if origin is not None and cp.origin != origin:
        raise NoteError(f"checkpoint origin {cp.origin!r} is not {origin!r}")
    return cp

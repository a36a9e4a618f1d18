"""C2SP signed notes / checkpoints and DSSE envelopes, against the published examples."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import dsse, note

# c2sp.org/signed-note, "Example"
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n"
    "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKu"
    "wHjG1Yu72IneyaQM=\n"
)


def test_it_opens_the_c2sp_example_note() -> None:
    v = note.Verifier.parse(C2SP_VKEY)
    assert v.key_id.hex() == "530d903a"
    assert note.open_note(C2SP_NOTE, [v]) == "This is an example message.\n"


def test_it_rejects_the_c2sp_note_with_altered_text() -> None:
    v = note.Verifier.parse(C2SP_VKEY)
    with pytest.raises(note.NoteError, match="invalid signature"):
        note.open_note(C2SP_NOTE.replace("example message", "exemplary message"), [v])


def test_it_rejects_a_note_signed_by_no_known_key() -> None:
    other = Ed25519PrivateKey.generate()
    vkey = note.verifier_key("example.com/bar", note.public_bytes(other.public_key()))
    with pytest.raises(note.NoteError, match="no signature by a known key"):
        note.open_note(C2SP_NOTE, [note.Verifier.parse(vkey)])


def test_key_id_follows_the_spec_formula() -> None:
    v = note.Verifier.parse(C2SP_VKEY)
    pub = base64.b64decode(C2SP_VKEY.split("+", 2)[2])[1:]
    assert note.key_id("example.com/foo", pub) == v.key_id
    with pytest.raises(note.NoteError, match="key id does not match"):
        note.Verifier.parse(C2SP_VKEY.replace("530d903a", "530d903b"))


def test_checkpoint_round_trips_and_detects_a_changed_root() -> None:
    key = Ed25519PrivateKey.generate()
    name = "deltatrace.test/log"
    verifier = note.Verifier.parse(note.verifier_key(name, note.public_bytes(key.public_key())))
    cp = note.Checkpoint(name, 12, bytes(range(32)))
    signed = note.sign_checkpoint(cp, name, key)
    lines = signed.split("\n")
    assert lines[:3] == [name, "12", base64.b64encode(bytes(range(32))).decode()]
    assert lines[3] == "" and lines[4].startswith("— deltatrace.test/log ")
    assert note.open_checkpoint(signed, [verifier], origin=name) == cp
    forged = signed.replace(lines[2], base64.b64encode(bytes(32)).decode())
    with pytest.raises(note.NoteError):
        note.open_checkpoint(forged, [verifier])
    with pytest.raises(note.NoteError, match="origin"):
        note.open_checkpoint(signed, [verifier], origin="elsewhere")


def test_dsse_pae_matches_the_spec_example() -> None:
    pae = dsse.pae("http://example.com/HelloWorld", b"hello world")
    assert pae == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_dsse_envelope_verifies_and_rejects_tampering() -> None:
    key = Ed25519PrivateKey.generate()
    stmt = dsse.statement({"manifest.json": "ab" * 32}, "https://deltatrace.dev/report/v1", {})
    env = dsse.sign_statement(stmt, key, keyid="k1")
    assert env["payloadType"] == dsse.IN_TOTO_PAYLOAD_TYPE
    payload = dsse.verify_envelope(env, {"k1": key.public_key()})
    assert b'"_type":"https://in-toto.io/Statement/v1"' in payload
    tampered = {**env, "payload": base64.b64encode(payload.replace(b"ab", b"cd")).decode()}
    with pytest.raises(dsse.DsseError):
        dsse.verify_envelope(tampered, {"k1": key.public_key()})
    with pytest.raises(dsse.DsseError):
        dsse.verify_envelope(env, {"k1": Ed25519PrivateKey.generate().public_key()})
    with pytest.raises(dsse.DsseError, match="malformed"):
        dsse.verify_envelope({"payload": "!!"}, {"k1": key.public_key()})

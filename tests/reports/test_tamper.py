"""Verify detects every tamper class and names the file and the check that failed.

The strongest forger holds the server's signing key (an insider) and re-seals the manifest and the
DSSE envelope after the edit: the checks that do not rest on that key (issuance in the ledger,
approvers' signatures, inclusion proofs against the checkpoint) must still catch the edit.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deltatrace.canonical import strict_jcs
from ledger import keys, merkle, note
from ledger.reports import verify as v
from tests.reports.conftest import server_key
from tests.reports.tamper import edit_json, failed, reseal, write


@pytest.fixture
def files(built: Any) -> dict[str, bytes]:
    return dict(built.files)


def check(files: dict[str, bytes], tmp_path: Path, pinned: bool = True) -> v.Result:
    path = write(files, tmp_path / "tampered.zip")
    return v.verify_bundle(path, server_key() if pinned else None)


def insider() -> Ed25519PrivateKey:
    return keys.server_key().private_key


def test_an_edited_event_line_fails_its_digest(files: dict[str, bytes], tmp_path: Path) -> None:
    files[v.EVENTS] = files[v.EVENTS].replace(b'"qty":100', b'"qty":900', 1)
    res = check(files, tmp_path)
    assert not res.ok
    assert (v.EVENTS, "digest") in failed(res)


def test_edited_events_resealed_with_the_server_key_fail_the_issuance_check(
    files: dict[str, bytes], tmp_path: Path
) -> None:
    files[v.EVENTS] = files[v.EVENTS].replace(b'"qty":100', b'"qty":900', 1)
    res = check(reseal(files, insider()), tmp_path)
    assert failed(res) == {(v.ENTRIES, "issuance")}


@pytest.mark.parametrize("name", ["report.html", "report.pdf"])
def test_an_edited_report_fails_its_digest(
    files: dict[str, bytes], tmp_path: Path, name: str
) -> None:
    body = bytearray(files[name])
    body[len(body) // 2] ^= 0x01  # one flipped bit in the middle of the document
    files[name] = bytes(body)
    res = check(files, tmp_path)
    assert (name, "digest") in failed(res)


def test_an_added_file_is_named(files: dict[str, bytes], tmp_path: Path) -> None:
    files["extra.txt"] = b"not in the manifest"
    assert ("extra.txt", "digest") in failed(check(files, tmp_path))


def test_a_swapped_dsse_signature_fails(
    files: dict[str, bytes], tmp_path: Path, incident: Any
) -> None:
    from ledger.reports.bundle import build

    other = build(incident, "internal", "olivia").files[v.ENVELOPE]
    sig = __import__("json").loads(other)["signatures"]
    files = edit_json(files, v.ENVELOPE, lambda env: env.update(signatures=sig))
    res = check(files, tmp_path)
    assert (v.ENVELOPE, "dsse") in failed(res)


def test_a_manifest_edit_breaks_the_signed_statement(
    files: dict[str, bytes], tmp_path: Path
) -> None:
    files = edit_json(files, v.MANIFEST, lambda m: m["files"].pop("report.pdf"))
    res = check(files, tmp_path)
    assert (v.MANIFEST, "statement") in failed(res)


def test_a_proof_for_a_different_tree_fails_inclusion(
    files: dict[str, bytes], tmp_path: Path
) -> None:
    def swap(doc: dict[str, Any]) -> None:
        e = doc["entries"][0]
        # A valid proof of the same entry, but in a tree of other leaves.
        leaves = [merkle.leaf_hash(e["canonical"].encode())] + [
            merkle.leaf_hash(b"other %d" % i) for i in range(1, doc["tree_size"])
        ]
        lv = merkle.levels(leaves)
        proof = merkle.inclusion_proof(0, len(leaves), lambda ks: {k: lv[k[0]][k[1]] for k in ks})
        e["hashes"] = [h.hex() for h in proof]
        e["index"] = 0

    res = check(reseal(edit_json(files, v.ENTRIES, swap), insider()), tmp_path)
    assert failed(res) == {(v.ENTRIES, "inclusion")}
    assert any("entry 0" in c["detail"] for c in res.failures)


def test_a_checkpoint_signed_by_another_key_fails(files: dict[str, bytes], tmp_path: Path) -> None:
    cp = note.Checkpoint.parse(files[v.CHECKPOINT].decode().rpartition("\n\n")[0] + "\n")
    other = Ed25519PrivateKey.generate()
    files[v.CHECKPOINT] = note.sign_checkpoint(cp, cp.origin, other).encode()
    res = check(reseal(files, insider()), tmp_path)
    assert (v.CHECKPOINT, "checkpoint") in failed(res)
    # Without a pinned key the bundle's own key is used: still the server's, still caught.
    assert (v.CHECKPOINT, "checkpoint") in failed(check(reseal(files, insider()), tmp_path, False))


def test_a_bundle_resigned_throughout_by_another_key_fails_only_when_the_key_is_pinned(
    files: dict[str, bytes], tmp_path: Path
) -> None:
    other = Ed25519PrivateKey.generate()
    name = keys.server_key().name
    pub = note.public_bytes(other.public_key())
    cp = note.Checkpoint.parse(files[v.CHECKPOINT].decode().rpartition("\n\n")[0] + "\n")
    files[v.CHECKPOINT] = note.sign_checkpoint(cp, name, other).encode()
    files = edit_json(files, v.SERVER_KEY, lambda k: k.update(vkey=note.verifier_key(name, pub)))
    files = reseal(files, other)
    pinned = check(files, tmp_path)
    assert {(v.ENVELOPE, "dsse"), (v.CHECKPOINT, "checkpoint")} <= failed(pinned)
    unpinned = check(files, tmp_path, pinned=False)
    assert "NOT pinned" in unpinned.key_source  # the verifier says what it could not check


def _approvals(signer: Ed25519PrivateKey, decision: str = "approve") -> dict[str, Any]:
    content = {"kind": "kill_switch", "incident": "flash-dip", "params": {"scope": "venue"}}
    canonical = strict_jcs(content).decode()
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    pub = note.public_bytes(signer.public_key())
    kid = hashlib.sha256(pub).hexdigest()[:16]
    stmt = {
        "decision": decision,
        "key_id": kid,
        "root_hash": "00" * 32,
        "time": 1,
        "tree_size": 1,
        "trigger_digest": digest,
    }
    signed = strict_jcs(stmt)
    return {
        "status": "present",
        "triggers": [
            {"id": 1, "digest": digest, "content": content, "content_canonical": canonical}
        ],
        "approvals": [
            {
                "trigger": 1,
                "approver": "anna",
                "decision": decision,
                "key_id": kid,
                "public_key": base64.b64encode(pub).decode(),
                "statement": signed.decode(),
                "signature": base64.b64encode(signer.sign(signed)).decode(),
                "ledger_index": None,
            }
        ],
    }


def test_genuine_approval_signatures_verify(files: dict[str, bytes], tmp_path: Path) -> None:
    import json

    files[v.APPROVALS] = json.dumps(_approvals(Ed25519PrivateKey.generate())).encode()
    res = check(reseal(files, insider()), tmp_path)
    assert res.ok, res.failures


@pytest.mark.parametrize("forgery", ["statement", "signature", "trigger"])
def test_a_forged_approval_fails_even_when_resealed_by_the_server(
    files: dict[str, bytes], tmp_path: Path, forgery: str
) -> None:
    import json

    doc = _approvals(Ed25519PrivateKey.generate())
    a = doc["approvals"][0]
    if forgery == "statement":  # flip a reject into an approve after signing
        a["statement"] = a["statement"].replace('"time":1', '"time":2')
    elif forgery == "signature":  # the server signs in the approver's name with its own key
        a["signature"] = base64.b64encode(insider().sign(a["statement"].encode())).decode()
    else:  # the approval is moved onto a different trigger
        doc["triggers"][0]["content_canonical"] = doc["triggers"][0]["content_canonical"].replace(
            "venue", "symbol"
        )
    files[v.APPROVALS] = json.dumps(doc).encode()
    res = check(reseal(files, insider()), tmp_path)
    assert failed(res) == {(v.APPROVALS, "approval")}
    assert "anna" in res.failures[0]["detail"]


def test_a_bundle_that_is_not_a_zip_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.zip"
    bad.write_text("hello")
    with pytest.raises(v.BundleError, match="not a readable ZIP"):
        v.verify_bundle(bad)


def test_a_missing_file_is_named(files: dict[str, bytes], tmp_path: Path) -> None:
    del files[v.CHECKPOINT]
    res = check(files, tmp_path)
    assert (v.CHECKPOINT, "present") in failed(res)

#!/usr/bin/env python3
"""Offline verifier for a DeltaTrace report bundle: no database, no network, no DeltaTrace.

Needs Python 3.11+ and the ``cryptography`` package only, so this very file ships inside every bundle
as ``verify_bundle.py``:

    python3 -m pip install cryptography
    python3 verify_bundle.py REPORT.zip --key 'deltatrace.local/ledger+1a2b3c4d+Ab...'

Checks, each reported as (file, check):
  digest      every file's SHA-256 against manifest.json; no file missing, none unlisted
  dsse        the DSSE envelope's Ed25519 signature (PAE) and its in-toto statement over manifest.json
  checkpoint  the C2SP signed checkpoint note, by the server key
  inclusion   every cited ledger entry's RFC 6962 inclusion proof against the checkpoint's root
  issuance    the report.issued ledger entry names this report and the digest of its events
  approval    every approval's Ed25519 signature over its exact signed bytes, by the approver's key
The trusted key is ``--key`` (a C2SP verifier key ``name+id+base64``, raw base64, PEM, or a file holding
one); without it the key inside the bundle is used, and the output says so: that only proves the
bundle is self-consistent, not who signed it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

FORMAT = "deltatrace-report-bundle/1"
PREDICATE_TYPE = "https://deltatrace.dev/report/v1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
MANIFEST = "manifest.json"
ENVELOPE = "envelope.dsse.json"
SERVER_KEY = "keys/server.json"
CHECKPOINT = "ledger/checkpoint.txt"
ENTRIES = "ledger/entries.json"
APPROVALS = "approvals.json"
EVENTS = "events.jsonl"
UNSIGNED = frozenset({MANIFEST, ENVELOPE})  # the manifest is signed via the DSSE envelope
SIG_PREFIX = "— "  # C2SP signed-note signature lines start with an em dash and a space


class BundleError(ValueError):
    """A key or bundle that cannot be read at all."""


@dataclass
class Result:
    checks: list[dict[str, Any]] = field(default_factory=list)
    key_source: str = ""
    key_id: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c["ok"] for c in self.checks)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if not c["ok"]]

    def add(self, file: str, check: str, ok: bool, detail: str) -> bool:
        self.checks.append({"file": file, "check": check, "ok": ok, "detail": detail})
        return ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "key_source": self.key_source,
            "key_id": self.key_id,
            "checks": self.checks,
            "failures": self.failures,
        }


# --- keys -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrustedKey:
    public_key: Ed25519PublicKey
    raw: bytes
    name: str | None  # the C2SP key name (the log origin) when known


def note_key_id(name: str, raw: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()[:4]


def parse_key(text: str) -> TrustedKey:
    """A C2SP vkey ``name+hexid+base64(0x01||key)``, base64 of the raw 32 bytes, or a PEM key."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise BundleError("the PEM key is not an Ed25519 public key")
            return TrustedKey(key, key.public_bytes(Encoding.Raw, PublicFormat.Raw), None)
        parts = text.split("+", 2)
        if (
            len(parts) == 3
            and len(parts[1]) == 8
            and all(c in "0123456789abcdefABCDEF" for c in parts[1])
        ):
            name, hex_id, blob = parts
        else:
            raw = base64.b64decode(text, validate=True)
            if len(raw) != 32:
                raise BundleError(f"a raw Ed25519 public key is 32 bytes, got {len(raw)}")
            return TrustedKey(Ed25519PublicKey.from_public_bytes(raw), raw, None)
        data = base64.b64decode(blob, validate=True)
        if len(data) != 33 or data[0] != 1:
            raise BundleError("the verifier key is not an Ed25519 key")
        if note_key_id(name, data[1:]).hex() != hex_id.lower():
            raise BundleError("the verifier key's id does not match its name and key")
        return TrustedKey(Ed25519PublicKey.from_public_bytes(data[1:]), data[1:], name)
    except (ValueError, binascii.Error) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError(f"cannot read the key: {exc}") from None


def load_key_arg(arg: str) -> TrustedKey:
    path = Path(arg)
    try:
        if path.is_file():
            return parse_key(path.read_text())
    except OSError:
        pass
    return parse_key(arg)


# --- primitives (RFC 6962, DSSE, C2SP note), duplicated here so this file stands alone ----------
def _leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != 32:
            raise ValueError("proof hash is not 32 bytes")
        if sn == 0:
            raise ValueError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("inclusion proof is too short")
    return r


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def open_checkpoint(note: str, key: TrustedKey) -> tuple[str, int, bytes]:
    """(origin, size, root) if a signature line verifies with ``key``; else ValueError."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise ValueError("not a signed note: no blank line before the signatures")
    text += "\n"
    verified = False
    for line in sigs[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise ValueError(f"malformed signature line {line[:40]!r}")
        name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        raw = base64.b64decode(blob, validate=True)
        if key.name is not None and name != key.name:
            continue
        if len(raw) != 68 or raw[:4] != note_key_id(name, key.raw):
            continue  # a signature by some other key
        try:
            key.public_key.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise ValueError(f"the signature by {name} does not verify") from None
        verified = True
    if not verified:
        raise ValueError("no signature by the trusted key")
    lines = text.split("\n")
    if len(lines) < 4 or not lines[1].isdigit():
        raise ValueError("checkpoint needs origin, size and root hash lines")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise ValueError("checkpoint root hash is not 32 bytes")
    return lines[0], int(lines[1]), root


def _json(files: dict[str, bytes], name: str) -> Any:
    return json.loads(files[name].decode("utf-8"))


# --- the checks -----------------------------------------------------------------------------------
def _check_digests(files: dict[str, bytes], manifest: dict[str, Any], res: Result) -> None:
    listed: dict[str, Any] = manifest.get("files") or {}
    for name in sorted(listed):
        want = listed[name].get("sha256") if isinstance(listed[name], dict) else None
        if name not in files:
            res.add(name, "digest", False, "listed in manifest.json but missing from the bundle")
            continue
        got = hashlib.sha256(files[name]).hexdigest()
        if got != want:
            res.add(name, "digest", False, f"sha256 {got} but manifest.json says {want}")
        else:
            res.add(name, "digest", True, f"sha256 {got}")
    for name in sorted(set(files) - set(listed) - UNSIGNED):
        res.add(name, "digest", False, "in the bundle but not listed in manifest.json")


def _check_dsse(files: dict[str, bytes], key: TrustedKey, res: Result) -> dict[str, Any] | None:
    """Verify the envelope; return the statement's predicate when the signature holds."""
    try:
        env = _json(files, ENVELOPE)
        payload = base64.b64decode(env["payload"], validate=True)
        sigs = [base64.b64decode(s["sig"], validate=True) for s in env["signatures"]]
        ptype = env["payloadType"]
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        res.add(ENVELOPE, "dsse", False, f"malformed DSSE envelope: {exc}")
        return None
    message = pae(ptype, payload)
    good = False
    for sig in sigs:
        try:
            key.public_key.verify(sig, message)
            good = True
            break
        except InvalidSignature:
            continue
    if not res.add(
        ENVELOPE,
        "dsse",
        good,
        "Ed25519 signature over PAE(payloadType, payload) verifies"
        if good
        else "no DSSE signature verifies with the trusted key",
    ):
        return None
    try:
        stmt = json.loads(payload)
        subjects = {s["name"]: s["digest"]["sha256"] for s in stmt["subject"]}
        ok_type = ptype == IN_TOTO_PAYLOAD_TYPE and stmt.get("_type") == STATEMENT_TYPE
    except (KeyError, TypeError, ValueError) as exc:
        res.add(ENVELOPE, "statement", False, f"malformed in-toto statement: {exc}")
        return None
    want = hashlib.sha256(files[MANIFEST]).hexdigest()
    if not ok_type or stmt.get("predicateType") != PREDICATE_TYPE:
        res.add(ENVELOPE, "statement", False, "not an in-toto Statement v1 of a DeltaTrace report")
        return None
    if subjects.get(MANIFEST) != want:
        res.add(
            MANIFEST,
            "statement",
            False,
            f"sha256 {want} but the signed statement says {subjects.get(MANIFEST)}",
        )
        return None
    res.add(MANIFEST, "statement", True, f"the signed in-toto statement covers sha256 {want}")
    predicate: dict[str, Any] = stmt.get("predicate") or {}
    return predicate


def _check_ledger(
    files: dict[str, bytes], key: TrustedKey, predicate: dict[str, Any] | None, res: Result
) -> list[dict[str, Any]]:
    """Checkpoint and inclusion proofs; return the entries proven to be in the log."""
    try:
        origin, size, root = open_checkpoint(files[CHECKPOINT].decode("utf-8"), key)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        res.add(CHECKPOINT, "checkpoint", False, f"signed checkpoint: {exc}")
        return []
    res.add(CHECKPOINT, "checkpoint", True, f"{origin} size {size} signed by the trusted key")
    if predicate is not None:
        cp = predicate.get("checkpoint") or {}
        same = cp.get("tree_size") == size and cp.get("root") == root.hex()
        res.add(
            CHECKPOINT,
            "statement",
            same,
            "matches the signed statement"
            if same
            else "tree size or root differ from the signed statement",
        )
    proven: list[dict[str, Any]] = []
    try:
        doc = _json(files, ENTRIES)
        entries = doc["entries"]
    except (KeyError, TypeError, ValueError) as exc:
        res.add(ENTRIES, "inclusion", False, f"malformed: {exc}")
        return []
    bad = 0
    for e in entries:
        index = e.get("index")
        try:
            leaf = _leaf(e["canonical"].encode("utf-8"))
            if int(e.get("tree_size", size)) != size:
                raise ValueError(f"proof is for a tree of size {e.get('tree_size')}, not {size}")
            proof = [bytes.fromhex(h) for h in e["hashes"]]
            if root_from_inclusion(int(index), size, leaf, proof) != root:
                raise ValueError("proof does not lead to the checkpoint's root")
            proven.append(
                {"index": index, "canonical": e["canonical"], "entry": json.loads(e["canonical"])}
            )
        except (KeyError, TypeError, ValueError) as exc:
            bad += 1
            res.add(ENTRIES, "inclusion", False, f"entry {index}: {exc}")
    if not bad:
        res.add(ENTRIES, "inclusion", True, f"{len(entries)} entries proven in the tree of {size}")
    return proven


def _check_issuance(
    files: dict[str, bytes],
    manifest: dict[str, Any],
    predicate: dict[str, Any] | None,
    proven: list[dict[str, Any]],
    res: Result,
) -> None:
    if predicate is None:
        return
    rid = predicate.get("report_id")
    issued = [
        p["entry"]
        for p in proven
        if p["index"] == predicate.get("report_entry_index")
        and p["entry"].get("type") == "report.issued"
    ]
    payload = issued[0].get("payload", {}) if issued else {}
    events_sha = (manifest.get("files", {}).get(EVENTS) or {}).get("sha256")
    if not issued:
        res.add(ENTRIES, "issuance", False, f"no proven report.issued entry for report {rid}")
    elif payload.get("report_id") != rid or payload.get("events_sha256") != events_sha:
        res.add(ENTRIES, "issuance", False, "report.issued entry names another report or events")
    else:
        res.add(
            ENTRIES,
            "issuance",
            True,
            f"report {rid} issued at ledger index {predicate.get('report_entry_index')}",
        )


def _check_approvals(files: dict[str, bytes], proven: list[dict[str, Any]], res: Result) -> None:
    try:
        doc = _json(files, APPROVALS)
        approvals = doc.get("approvals") or []
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        res.add(APPROVALS, "approval", False, f"malformed: {exc}")
        return
    if not approvals:
        res.add(APPROVALS, "approval", True, f"none ({doc.get('note', 'no approvals')})")
        return
    proven_text = {p["index"]: p["canonical"] for p in proven}
    triggers = {t.get("digest"): t for t in doc.get("triggers") or []}
    bad = 0
    for i, a in enumerate(approvals):
        who = f"approval {i + 1} ({a.get('approver', '?')})"
        try:
            raw_key = base64.b64decode(a["public_key"], validate=True)
            pub = Ed25519PublicKey.from_public_bytes(raw_key)
            signed = a["statement"].encode("utf-8")
            pub.verify(base64.b64decode(a["signature"], validate=True), signed)
            stmt = json.loads(signed)
            if stmt.get("key_id") != hashlib.sha256(raw_key).hexdigest()[:16]:
                raise ValueError("the statement names another key than the one that signed it")
            trig = triggers.get(stmt.get("trigger_digest"))
            if trig is None:
                raise ValueError("it approves a trigger that is not in the bundle")
            if hashlib.sha256(trig["content_canonical"].encode()).hexdigest() != trig["digest"]:
                raise ValueError(f"trigger {trig.get('id')}: content does not hash to its digest")
            index = a.get("ledger_index")
            if index is not None and a["signature"] not in proven_text.get(index, ""):
                raise ValueError(f"its signature is not in proven ledger entry {index}")
        except InvalidSignature:
            bad += 1
            res.add(APPROVALS, "approval", False, f"{who}: signature does not verify")
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            bad += 1
            res.add(APPROVALS, "approval", False, f"{who}: {exc}")
    if not bad:
        res.add(APPROVALS, "approval", True, f"{len(approvals)} approval signature(s) verify")


def read_zip(path: str | Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as zf:
            return {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{path}: not a readable ZIP ({exc})") from None


def verify_files(files: dict[str, bytes], pinned: TrustedKey | None = None) -> Result:
    """Run every check on the bundle's files; never raises for a bad bundle, records it instead."""
    res = Result()
    for name in (MANIFEST, ENVELOPE, SERVER_KEY, CHECKPOINT, ENTRIES, APPROVALS):
        if name not in files:
            res.add(name, "present", False, "required file is missing")
    if res.checks:
        return res
    try:
        manifest = _json(files, MANIFEST)
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format is {manifest.get('format')!r}, not {FORMAT}")
    except (ValueError, AttributeError) as exc:
        res.add(MANIFEST, "manifest", False, str(exc))
        return res
    if pinned is not None:
        key, res.key_source = pinned, "pinned (--key)"
    else:
        try:
            key = parse_key(_json(files, SERVER_KEY)["vkey"])
        except (KeyError, TypeError, ValueError) as exc:
            res.add(SERVER_KEY, "key", False, f"cannot read the bundle's key: {exc}")
            return res
        res.key_source = f"bundle ({SERVER_KEY}); NOT pinned: pass --key to check who signed"
    res.key_id = note_key_id(key.name, key.raw).hex() if key.name else key.raw.hex()[:16]
    _check_digests(files, manifest, res)
    predicate = _check_dsse(files, key, res)
    proven = _check_ledger(files, key, predicate, res)
    _check_issuance(files, manifest, predicate, proven, res)
    _check_approvals(files, proven, res)
    return res


def verify_bundle(path: str | Path, pinned: TrustedKey | None = None) -> Result:
    return verify_files(read_zip(path), pinned)


def render(res: Result, path: str) -> str:
    lines = [f"Bundle {path}", f"key: {res.key_source} (id {res.key_id})"]
    for c in res.checks:
        mark = "ok  " if c["ok"] else "FAIL"
        lines.append(f"  {mark} {c['file']}: {c['check']} - {c['detail']}")
    lines.append("VERIFIED" if res.ok else f"FAILED: {len(res.failures)} check(s) failed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Verify a DeltaTrace report bundle offline.")
    ap.add_argument("bundle", metavar="FILE.zip")
    ap.add_argument("--key", help="the server's public key (C2SP vkey, base64, PEM, or a file)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args(argv)
    try:
        pinned = load_key_arg(args.key) if args.key else None
        res = verify_bundle(args.bundle, pinned)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res.as_dict()))
    else:
        print(render(res, args.bundle))
    if not res.ok:
        for c in res.failures:
            print(f"FAIL {c['file']}: {c['check']} - {c['detail']}", file=sys.stderr)
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())

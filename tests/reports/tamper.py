"""Tools to tamper with a bundle the way an attacker would, including one who holds the server key."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import dsse
from ledger.reports import verify as v
from ledger.reports.bundle import zip_bytes


def reseal(files: dict[str, bytes], key: Ed25519PrivateKey, keyid: str = "") -> dict[str, bytes]:
    """Recompute manifest.json and re-sign the DSSE envelope over it (a forger holding ``key``)."""
    files = dict(files)
    manifest = json.loads(files[v.MANIFEST])
    manifest["files"] = {
        name: {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
        for name, body in sorted(files.items())
        if name not in v.UNSIGNED
    }
    files[v.MANIFEST] = json.dumps(manifest).encode()
    payload = json.loads(base64.b64decode(json.loads(files[v.ENVELOPE])["payload"]))
    stmt = dsse.statement(
        {v.MANIFEST: hashlib.sha256(files[v.MANIFEST]).hexdigest()},
        payload["predicateType"],
        payload["predicate"],
    )
    files[v.ENVELOPE] = json.dumps(dsse.sign_statement(stmt, key, keyid)).encode()
    return files


def write(files: dict[str, bytes], path: Path) -> Path:
    path.write_bytes(zip_bytes(files))
    return path


def failed(res: v.Result) -> set[tuple[str, str]]:
    return {(c["file"], c["check"]) for c in res.failures}


def edit_json(files: dict[str, bytes], name: str, fn: Any) -> dict[str, bytes]:
    doc = json.loads(files[name])
    fn(doc)
    return {**files, name: json.dumps(doc).encode()}

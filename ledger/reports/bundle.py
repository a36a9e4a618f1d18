"""Build a signed report bundle: collect -> log the issuance -> proofs -> files -> manifest -> DSSE.

Order matters: the ``report.issued`` ledger entry (naming the report id and the SHA-256 of its
sanitized events) is appended first, and the checkpoint and inclusion proofs are taken after it, so
the bundle proves its own issuance. The DSSE envelope is an in-toto Statement v1 whose one subject is
``manifest.json``; the manifest lists the SHA-256 of every other file.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from deltatrace.gcpause import gc_paused
from deltatrace.models import Incident
from deltatrace.privacy import AUDIENCES
from deltatrace.timeline import lane_label
from ledger import dsse, keys, log, merkle
from ledger.models import LedgerEntry
from ledger.reports import collect, figure, pdf
from ledger.reports import verify as v
from ledger.reports.models import Report, reports_dir

CITED_TYPES = (
    "capture.registered",
    "incident.opened",
    "incident.closed",
    "trigger.proposed",
    "approval.recorded",
    "trigger.executed",
    "replay.verdict",
    "report.issued",
)
PROOF_BATCH = 200
README = """DeltaTrace signed report bundle
==============================

Incident: {incident}    Report: {report_id}    Audience: {audience}

Files
  report.html, report.pdf   the human report
  report.json               the figures the report shows (summary, latency, replay, anomalies)
  events.jsonl              the sanitized events (privacy policy {policy})
  approvals.json            triggers with their signed approvals (or a clear "none")
  ledger/checkpoint.txt     the signed ledger checkpoint (C2SP signed note)
  ledger/entries.json       every cited ledger entry with its RFC 6962 inclusion proof
  keys/server.json          the server's public key as shipped (do not trust it blindly)
  manifest.json             SHA-256 of every file above
  envelope.dsse.json        DSSE envelope (in-toto Statement v1 over manifest.json), Ed25519
  verify_bundle.py          a single-file verifier (Python 3.11+ and `cryptography`)

Verify without installing DeltaTrace
  1. Get the server's public key from a channel you trust (GET /api/ledger/keys on the server, or
     your compliance officer): a line like  {vkey}
  2. unzip the bundle; then
        python3 -m pip install cryptography
        python3 verify_bundle.py THIS.zip --key 'THE-KEY-FROM-STEP-1'
     It checks every digest, the DSSE signature, the checkpoint signature, every inclusion proof
     against the checkpoint, the report.issued entry, and every approval signature; any failure
     names the file and the check, and the exit status is non-zero. Without --key it uses the key
     inside the bundle and says so: that only shows the bundle is self-consistent.
  3. Digests alone, with standard tools: every "sha256" in manifest.json must match
        sha256sum report.html report.pdf events.jsonl ...   (or: openssl dgst -sha256 FILE)
     and the signed statement (base64 "payload" of envelope.dsse.json) names manifest.json's sha256:
        python3 -c "import json,base64;print(base64.b64decode(json.load(open('envelope.dsse.json'))['payload']).decode())"
"""


@dataclass
class Built:
    report: Report
    path: Path
    files: dict[str, bytes]


def _proofs(indices: list[int], size: int) -> list[dict[str, Any]]:
    """Inclusion proofs of many entries from stored hashes, one node query per batch."""
    fetch = log.fetcher()
    out = []
    for start in range(0, len(indices), PROOF_BATCH):
        batch = indices[start : start + PROOF_BATCH]
        plans = [merkle.inclusion_ranges(i, size) for i in batch]
        flat = [(i, i + 1) for i in batch] + [r for p in plans for r in p]
        hashes = merkle.hashes_for(flat, fetch)
        leaves, rest = hashes[: len(batch)], hashes[len(batch) :]
        pos = 0
        for i, plan, leaf in zip(batch, plans, leaves, strict=True):
            out.append(
                {
                    "index": i,
                    "tree_size": size,
                    "leaf_hash": leaf.hex(),
                    "hashes": [h.hex() for h in rest[pos : pos + len(plan)]],
                }
            )
            pos += len(plan)
    return out


def cited_entries(
    incident: Incident, size: int, extra: Iterable[int | None]
) -> list[dict[str, Any]]:
    """Ledger entries about this incident (plus ``extra`` indices) with their inclusion proofs."""
    needle = orjson.dumps({"incident": incident.name}).decode()[1:-1]  # "incident":"name"
    rows = dict(
        LedgerEntry.objects.filter(
            index__lt=size, type__in=CITED_TYPES, canonical__contains=needle
        ).values_list("index", "canonical")
    )
    wanted = sorted({i for i in extra if i is not None and 0 <= i < size} - set(rows))
    rows.update(LedgerEntry.objects.filter(index__in=wanted).values_list("index", "canonical"))
    indices = sorted(rows)
    proofs = _proofs(indices, size)
    return [
        {"index": i, "type": orjson.loads(rows[i])["type"], "canonical": rows[i], **p}
        for i, p in zip(indices, proofs, strict=True)
    ]


def _policy_entry(identity: dict[str, Any], actor: str) -> int | None:
    """Make sure the export policy version is in the ledger (as ingest does); its index."""
    try:
        from deltatrace.ingest import register_policy

        register_policy(identity, actor)
    except ImportError:
        return None
    found = (
        LedgerEntry.objects.filter(type="privacy.policy", canonical__contains=identity["digest"])
        .order_by("index")
        .values_list("index", flat=True)
        .first()
    )
    return found


def _jsonl(events: list[dict[str, Any]]) -> bytes:
    dumps, opt = orjson.dumps, orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
    return b"".join(dumps(e, option=opt) for e in events)


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def build(incident: Incident, audience: str = "regulator", actor: str = "cli") -> Built:
    """Build, log and store a bundle for ``incident``; return the Report row and the files."""
    # The build holds every event of the incident as dicts and lists while it works; the cyclic
    # GC's repeated passes over them took ~1.2 s of a 3.6 s build of 100k events (gc.callbacks).
    # Not promoted afterwards: the ORM and the PDF library leave cycles for the next collection.
    with gc_paused(promote=False):
        return _build(incident, audience, actor)


def _build(incident: Incident, audience: str, actor: str) -> Built:
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r} (one of {', '.join(AUDIENCES)})")
    data = collect.gather(incident, audience)
    events_bytes = _jsonl(data.events)
    events_sha = hashlib.sha256(events_bytes).hexdigest()
    report_id = uuid.uuid4().hex
    built_at = timezone.now()
    policy_index = _policy_entry(data.policy, actor)
    with transaction.atomic():
        issued = log.append(
            "report.issued",
            actor,
            incident.name,
            {
                "incident": incident.name,
                "report_id": report_id,
                "audience": audience,
                "events": len(data.events),
                "events_sha256": events_sha,
                "policy": data.policy["digest"],
            },
        )
    cp = log.latest_checkpoint()
    size, root = cp.tree_size, bytes(cp.root)
    appr = data.approvals
    extra = [issued.index, policy_index]
    for t in appr.get("triggers", []):
        extra += [t.get("proposed_index"), t.get("executed_index")]
    extra += [a.get("ledger_index") for a in appr.get("approvals", [])]
    entries = cited_entries(incident, size, extra)

    key = keys.server_key()
    timeline = figure.bucket((lane_label(e["host"], e["lane"]), e["ts_ns"]) for e in data.events)
    facts = {
        "report_id": report_id,
        "audience": audience,
        "built_by": actor,
        "built_at": built_at.isoformat(),
        "incident": data.incident,
        "captures": data.captures,
        "policy": data.policy,
        "latency": data.latency,
        "replay": data.replay,
        "decision_path": data.decision_path,
        "decision_path_of": data.decision_path_of,
        "checkpoint": {"origin": key.name, "tree_size": size, "root": root.hex(), "note": cp.note},
        "report_entry_index": issued.index,
        "cited_entries": [{"index": e["index"], "type": e["type"]} for e in entries],
        "events": len(data.events),
    }
    html = render_to_string(
        "reports/report.html",
        {"r": facts, "approvals": appr, "svg": figure.svg(timeline), "events_sha": events_sha},
    )
    files: dict[str, bytes] = {
        "README.txt": README.format(
            incident=incident.name,
            report_id=report_id,
            audience=audience,
            policy=f"{data.policy['name']} v{data.policy['version']}",
            vkey=key.vkey,
        ).encode(),
        "verify_bundle.py": Path(v.__file__).read_bytes(),
        "report.html": html.encode(),
        "report.pdf": pdf.render(facts, appr, timeline),
        "report.json": _json(facts),
        v.EVENTS: events_bytes,
        v.APPROVALS: _json(appr),
        v.CHECKPOINT: cp.note.encode(),
        v.ENTRIES: _json({"tree_size": size, "root": root.hex(), "entries": entries}),
        v.SERVER_KEY: _json(
            {
                "name": key.name,
                "key_id": key.key_id,
                "vkey": key.vkey,
                "public_key": base64.b64encode(key.public_key).decode(),
            }
        ),
    }
    manifest = {
        "format": v.FORMAT,
        "incident": incident.name,
        "report_id": report_id,
        "files": {
            name: {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
            for name, body in sorted(files.items())
        },
    }
    files[v.MANIFEST] = _json(manifest)
    predicate = {
        "report_id": report_id,
        "incident": incident.name,
        "audience": audience,
        "built_by": actor,
        "built_at": built_at.isoformat(),
        "policy": data.policy,
        "checkpoint": {"origin": key.name, "tree_size": size, "root": root.hex()},
        "report_entry_index": issued.index,
    }
    stmt = dsse.statement(
        {v.MANIFEST: hashlib.sha256(files[v.MANIFEST]).hexdigest()}, v.PREDICATE_TYPE, predicate
    )
    files[v.ENVELOPE] = _json(dsse.sign_statement(stmt, key.private_key, key.key_id))
    blob = zip_bytes(files)
    path = _store(incident, report_id, blob)
    report = Report.objects.create(
        report_id=report_id,
        incident=incident,
        built_by=actor,
        audience=audience,
        sha256=hashlib.sha256(blob).hexdigest(),
        size=len(blob),
        file=path.name,
        ledger_index=issued.index,
        events=len(data.events),
    )
    return Built(report, path, files)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """Deflate at level 1: the events file dominates and compresses well even so, fast."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name], compresslevel=1)
    return buf.getvalue()


def _store(incident: Incident, report_id: str, blob: bytes) -> Path:
    """Write the ZIP under DATA_DIR/reports atomically (temporary name, then rename)."""
    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{incident.name}-{report_id}.zip"
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    tmp.write_bytes(blob)
    tmp.replace(path)
    return path

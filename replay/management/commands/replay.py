"""``deltatrace replay INCIDENT``: re-run an incident and say whether the replay matches the recording.

Exit status: 0 identical, 1 diverged, 2 error (unknown incident, refused replay, sandbox escape).
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from adapters.strategies.base import STAGES
from replay.engine import Options, parse_sets, replay
from replay.load import load_incident, resolve_event_ref, resolve_incident
from replay.records import log_verdict
from replay.sandbox import ReplayError


class Command(BaseCommand):
    help = "Replay an incident deterministically and compare with what was recorded."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("incident", help="incident id or unique name")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--stage", default="all", choices=("all", *STAGES))
        parser.add_argument("--path", metavar="EVENT", help="CAPTURE:SEQ or event id")
        parser.add_argument(
            "--set",
            dest="sets",
            action="append",
            default=[],
            metavar="PARAM=VALUE",
            help="what-if: override a strategy parameter, or a risk limit as risk.FIELD "
            "(e.g. risk.max_qty=500; null switches a rule off) (repeatable)",
        )
        parser.add_argument(
            "--force", action="store_true", help="replay despite a code digest mismatch"
        )
        parser.add_argument(
            "--actor",
            default="cli",
            help="who asked, as recorded in the ledger's replay.verdict entry",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            incident = resolve_incident(opts["incident"])
            path = resolve_event_ref(incident, opts["path"]) if opts["path"] else None
            sets = parse_sets(opts["sets"])
            # Risk what-ifs re-run the gateway on its recorded orders and the venue's reports.
            full = path is not None or any(k.startswith("risk.") for k in sets)
            data = load_incident(incident, full=full)
            options = Options(
                stage=opts["stage"],
                path=path,
                sets=sets,
                force=opts["force"],
            )
            result = replay(data, options)
        except ReplayError as exc:
            raise CommandError(str(exc), returncode=2) from None
        result["ledger_index"] = log_verdict(incident, result, actor=opts["actor"])
        if opts["json"]:
            self.stdout.write(orjson.dumps(result).decode())
        else:
            self.stdout.write(render(result))
        if result["status"] != "identical":
            sys.exit(1)


def _brief(node: dict[str, Any] | None) -> str:
    if node is None:
        return "(none)"
    keys = " ".join(f"{k}={v}" for k, v in sorted(node["keys"].items()))
    return f"{node['ref']} {node['kind']} [{keys}] {orjson.dumps(node['payload']).decode()}"


def _outcome(o: dict[str, Any]) -> str:
    return "rejected by " + ", ".join(o["rejected_by"]) if o["rejected_by"] else "passed"


def _render_risk(g: dict[str, Any]) -> list[str]:
    """A risk what-if: which limits changed, and which orders' checks come out differently."""
    was, now = g["recorded_limits"], g["limits"]
    changed = ", ".join(
        f"{k} {was.get(k)} -> {now[k]}" for k in sorted(now) if now[k] != was.get(k)
    )
    lines = [
        f"  risk gateway {g['capture']}: limits {changed or 'unchanged'}",
        f"    orders checked {g['orders_checked']}, checks compared {g['checks_compared']}: "
        f"matched {g['matched']}, missing {g['missing']}, extra {g['extra']}; "
        f"orders whose checks change {g['orders_changed']}",
    ]
    for c in g["changed"][:10]:
        rules = ", ".join(
            f"{rule} {v['recorded'] or '-'} -> {v['replayed'] or '-'}"
            for rule, v in c["rules"].items()
        )
        lines.append(
            f"    {c['cl_ord_id']} ({c['order']}): {_outcome(c['recorded'])} -> "
            f"{_outcome(c['replayed'])} [{rules}]"
        )
    if g["orders_changed"] > 10:
        lines.append(f"    ... and {g['orders_changed'] - 10} more (see --json)")
    if g.get("counterfactual_orders"):
        lines.append(
            f"    {g['counterfactual_orders']} order(s) the recorded venue never saw, answered by the "
            f"shadow venue ({g['venue_model']}): {g['counterfactual_fills']} fill(s), "
            f"{g['counterfactual_filled_qty']} filled"
        )
    return lines


def render(r: dict[str, Any]) -> str:
    """The human verdict."""
    lines = [
        f"Replay of incident {r['incident']} ({r['mode']}, stage {r['stage']}): "
        f"{r['status'].upper()}"
    ]
    for s in r.get("strategies", []):
        forced = f"  [{s['forced']}]" if s.get("forced") else ""
        lines.append(
            f"  strategy {s['strategy']} {s['version']} on {s['capture']}, seed {s['seed']}{forced}"
        )
    if r.get("set"):
        lines.append("  what-if: " + ", ".join(f"{k}={v}" for k, v in sorted(r["set"].items())))
    if r["mode"] == "strategy":
        lines.append(
            f"  events {r['events']}, inputs fed {r['inputs']}, outputs compared "
            f"{r['outputs_compared']}: matched {r['matched']}, missing {r['missing']}, extra {r['extra']}"
        )
    else:
        lines.append(
            f"  events {r['events']}, orders {r['orders']}, reports checked "
            f"{r['outputs_compared']}, issues {r['issues']}"
        )
    for g in r.get("risk", []):
        lines.extend(_render_risk(g))
    ca = r["clock_anomalies"]
    if ca["count"]:
        tiers = ", ".join(f"{k}: {v}" for k, v in ca["by_tier"].items())
        lines.append(
            f"  clock anomalies {ca['count']} ({tiers}), worst skew {ca['worst_skew_ns']} ns"
        )
    lines.append(f"  run digest {r['run_digest']}")
    fd = r["first_divergence"]
    if fd and r["mode"] == "lifecycle":
        lines.append(
            f"First issue: {fd['reason']} at {fd['ref']} (order {fd['order']}): {fd['message']}"
        )
        for issue in r.get("issues_found", [])[1:10]:
            lines.append(
                f"  {issue['reason']} at {issue['ref']} ({issue['order']}): {issue['message']}"
            )
    elif fd:
        lines.append(
            f"First divergence at output #{fd['index']} ({fd['stage']}, {fd['kind']}): {fd['reason']}"
        )
        lines.append(f"  recorded  {_brief(fd['recorded'])}")
        lines.append(f"  replayed  {_brief(fd['replayed'])}")
        for d in fd["diff"]:
            lines.append(f"    {d['path']}: {d['recorded']!r} -> {d['replayed']!r}")
        rec, rep = fd.get("recorded_path") or [], fd.get("replayed_path") or []
        if rec or rep:
            lines.append("  decision path (recorded | replayed):")
            for i in range(max(len(rec), len(rep))):
                a = rec[i] if i < len(rec) else None
                b = rep[i] if i < len(rep) else None
                left = f"{a['kind']} {a['ref']}" if a else ""
                right = f"{b['kind']} {b['ref']}" if b else ""
                mark = " " if a and b and a["payload"] == b["payload"] else "*"
                lines.append(f"   {mark} {left:<32} | {right}")
    if r.get("path") is not None:
        lines.append(f"Decision path to {r.get('path_target', '')}:".rstrip())
        for n in r["path"]:
            lines.append(f"  {n['ref']:<20} {n['kind']:<10} {n['replay']:<12} {_brief(n)}")
    return "\n".join(lines) + "\n"

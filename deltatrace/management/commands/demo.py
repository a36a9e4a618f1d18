"""`deltatrace demo`: migrate, demo users, demo incidents from the testbed, then serve.

Everything is idempotent: run it again and it reuses the users, incidents and data directory.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from deltatrace.models import Incident
from deltatrace.roles import ADMIN, APPROVER, COMPLIANCE, VIEWER, ensure_roles

# username -> (role, what they do in the tour)
DEMO_USERS = {
    "admin": (ADMIN, "administrator (Django admin too)"),
    "carol": (COMPLIANCE, "compliance officer: investigates, replays, reports"),
    "alice": (APPROVER, "approver"),
    "bob": (APPROVER, "second approver"),
    "victor": (VIEWER, "read-only viewer"),
}

# (incident name, scenario, seed, title, severity)
DEMO_INCIDENTS = [
    (
        "partition-burst",
        "partition-burst",
        7,
        "Strategy–gateway partition during an order burst",
        "high",
    ),
    ("kill-switch", "kill-switch", 7, "Kill switch hit mid-burst", "critical"),
    ("fat-finger", "fat-finger", 7, "Fat-finger order stopped by the risk gateway", "medium"),
    ("stale-md", "stale-md", 7, "Strategy trading on stale market data", "high"),
    ("clock-skew", "clock-skew", 7, "Venue clock skewed beyond tolerance", "medium"),
    ("calm", "calm", 7, "Calm session (baseline)", "low"),
]


def demo_users() -> dict[str, str]:
    """Create the demo users once; their passwords are kept in the data directory (0600)."""
    ensure_roles()
    path = Path(settings.DATA_DIR) / "demo-credentials.txt"
    known: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, pw = line.partition(" ")
            known[name] = pw
    for name, (role, _) in DEMO_USERS.items():
        user = User.objects.filter(username=name).first()
        if user is None or name not in known:
            known[name] = secrets.token_urlsafe(9)
            user = user or User(username=name)
            user.set_password(known[name])
            user.is_staff = user.is_superuser = role == ADMIN
            user.save()
        user.groups.add(Group.objects.get(name=role))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"{n} {known[n]}\n" for n in DEMO_USERS))
    return known


def load_demo_incidents(stdout: Any = None) -> list[Incident]:
    from adapters.testbed import run_scenario
    from deltatrace.ingest import ingest_paths

    loaded = []
    for name, scenario, seed, title, severity in DEMO_INCIDENTS:
        existing = Incident.objects.filter(name=name).first()
        if existing is not None and existing.event_count:
            loaded.append(existing)
            continue
        with tempfile.TemporaryDirectory(prefix="dt-demo-") as tmp:
            manifest = run_scenario(scenario, seed, Path(tmp))
            paths = sorted(str(p) for p in Path(tmp).glob("*.jsonl"))
            summary = ingest_paths(paths, name, actor="demo")
        Incident.objects.filter(name=name).update(
            title=title,
            severity=severity,
            description=f"Testbed scenario '{scenario}' (seed {seed}). {manifest.get('description', '')}".strip(),
        )
        if stdout is not None:
            stdout.write(
                f"  loaded {name}: {summary['accepted']} events from {len(paths)} captures"
            )
        loaded.append(Incident.objects.get(name=name))
    return loaded


class Command(BaseCommand):
    help = "Set up and serve the demo: migrate, demo users, demo incidents from the testbed, dashboard."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="HOST:PORT to serve on")
        parser.add_argument("--no-serve", action="store_true", help="set up only")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.stdout.write("Migrating the database …")
        call_command("migrate", verbosity=0, interactive=False)
        self.stdout.write("Loading demo incidents from the testbed …")
        load_demo_incidents(self.stdout)
        creds = demo_users()
        self.stdout.write(
            "\nDemo users (passwords kept in "
            + str(Path(settings.DATA_DIR) / "demo-credentials.txt")
            + "):"
        )
        for name, (_role, what) in DEMO_USERS.items():
            self.stdout.write(f"  {name:<8} {creds[name]:<14} {what}")
        if opts["no_serve"]:
            return
        from deltatrace.management.commands.serve import parse_addr, serve

        host, port = parse_addr(opts["addr"])
        self.stdout.write(f"\nOpen http://{host}:{port}/ and log in as carol.\n")
        serve(host, port, worker=True, stdout=self.stdout)

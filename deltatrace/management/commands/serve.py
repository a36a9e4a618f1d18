"""`deltatrace serve [--addr HOST:PORT]`: daphne (HTTP + WebSockets) plus the background replay worker."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def parse_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise CommandError(f"--addr must be HOST:PORT, got {addr!r}")
    return host, int(port)


class Command(BaseCommand):
    help = (
        "Serve the dashboard, API and WebSockets with daphne, and run the replay worker beside it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--addr", default="127.0.0.1:8000", help="HOST:PORT (default 127.0.0.1:8000)"
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="run the replay worker elsewhere"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        host, port = parse_addr(opts["addr"])
        pending = unapplied_migrations()
        if pending:
            raise CommandError(
                f"the database has {pending} unapplied migration(s): run `deltatrace migrate` first"
            )
        serve(host, port, worker=not opts["no_worker"], stdout=self.stdout)


def unapplied_migrations() -> int:
    """How many migrations the database still needs (serving an old schema gives users 500s)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def serve(host: str, port: int, worker: bool = True, stdout: Any = None) -> None:
    from daphne.cli import CommandLineInterface

    proc = None
    if worker:
        from replay.tasks import requeue_stale

        # Replays left `running` by a worker that died with the last server go back in the queue.
        requeue_stale()
        # The database-backed task worker in its own process: replays never block the web server,
        # and the same command scales out (several workers, several servers) unchanged.
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deltatrace.cli",
                "db_worker",
                "--queue-name",
                "*",
                "--interval",
                "0.5",
            ],
            env=os.environ.copy(),
        )
    if stdout is not None:
        stdout.write(f"DeltaTrace at http://{host}:{port}/  (Ctrl-C to stop)")
    try:
        CommandLineInterface().run(
            ["-b", host, "-p", str(port), "--proxy-headers", "deltatrace.asgi:application"]
        )
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

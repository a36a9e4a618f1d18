"""`deltatrace fix-acceptor --port N --incident NAME`: a live FIX drop-copy session acceptor.

A firm's FIX engine connects as initiator; every application message it sends becomes capture events
in the incident (capture `fix-<sender>-<target>`, adapter `fix-session`) as it arrives. Sequence
numbers are kept in the database, so a restart resumes the session. Ctrl-C logs out and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from adapters.fix.acceptor import FixAcceptor
from adapters.fix.session import SEC, SessionConfig
from adapters.fix.store import DatabaseStore, DropCopyRecorder, capture_key, run_blocking

BEGIN_STRINGS = ("FIX.4.2", "FIX.4.3", "FIX.4.4", "FIXT.1.1")


class Command(BaseCommand):
    help = "Run a FIX drop-copy acceptor: each application message becomes an event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, required=True, help="TCP port to listen on")
        parser.add_argument("--incident", required=True, help="incident name or id for events")
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to bind (default loopback)"
        )
        parser.add_argument(
            "--sender-comp-id",
            default="DELTATRACE",
            help="our CompID: the initiator's TargetCompID (default DELTATRACE)",
        )
        parser.add_argument(
            "--target-comp-id",
            default="CLIENT",
            help="the initiator's CompID; a Logon from any other is refused (default CLIENT)",
        )
        parser.add_argument(
            "--begin-string",
            default="FIX.4.4",
            choices=BEGIN_STRINGS,
            help="FIX version (default FIX.4.4)",
        )
        parser.add_argument(
            "--reset-on-logon", action="store_true", help="reset both sequence numbers at Logon"
        )
        parser.add_argument(
            "--heartbeat-grace",
            type=float,
            default=None,
            metavar="SECONDS",
            help="silence tolerated past HeartBtInt before a TestRequest (default 20%% of it)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not 0 <= opts["port"] <= 65535:
            raise CommandError(f"--port must be 0..65535, not {opts['port']}")
        grace = opts["heartbeat_grace"]
        if grace is not None and grace < 0:
            raise CommandError("--heartbeat-grace must not be negative")
        for name in ("sender_comp_id", "target_comp_id"):
            value = opts[name]
            if not value or "\x01" in value or "=" in value:
                raise CommandError(f"--{name.replace('_', '-')} {value!r} is not a valid CompID")
        config = SessionConfig(
            sender_comp_id=opts["sender_comp_id"],
            target_comp_id=opts["target_comp_id"],
            begin_string=opts["begin_string"],
            reset_on_logon=opts["reset_on_logon"],
            heartbeat_grace_ns=None if grace is None else int(grace * SEC),
        )
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        recorder = DropCopyRecorder(config, opts["incident"])
        recorder.open()
        store = DatabaseStore(config, opts["incident"])
        try:
            asyncio.run(self._serve(config, store, recorder, opts["host"], opts["port"]))
        except OSError as exc:
            raise CommandError(f"cannot listen on {opts['host']}:{opts['port']}: {exc}") from exc

    async def _serve(
        self,
        config: SessionConfig,
        store: DatabaseStore,
        recorder: DropCopyRecorder,
        host: str,
        port: int,
    ) -> None:
        acceptor = FixAcceptor(config, store, recorder, blocking=run_blocking)
        bound_host, bound_port = await acceptor.start(host, port)
        self.stdout.write(
            f"FIX acceptor {config.sender_comp_id} <- {config.target_comp_id} ({config.begin_string})"
            f" on {bound_host}:{bound_port}; events go to incident {recorder.incident_name!r},"
            f" capture {capture_key(config)!r}"
        )
        self.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await acceptor.stop()
        self.stdout.write(
            f"stopped: {recorder.accepted} events stored, {recorder.quarantined} quarantined,"
            f" {acceptor.stats['ignored']} garbled messages ignored"
        )

"""Interoperability with an independent FIX engine: QuickFIX as the drop-copy initiator.

Skipped where the `quickfix` package (built from source, ~5 minutes) is not installed.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

fix = pytest.importorskip("quickfix")


class Client(fix.Application):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.admin_in: list[str] = []
        self.session_id: Any = None

    def onCreate(self, session_id: Any) -> None:
        self.session_id = session_id

    def onLogon(self, session_id: Any) -> None:
        self.logged_on.set()

    def onLogout(self, session_id: Any) -> None:
        self.logged_out.set()

    def toAdmin(self, message: Any, session_id: Any) -> None:
        pass

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        self.admin_in.append(message.toString().replace("\x01", "|"))

    def toApp(self, message: Any, session_id: Any) -> None:
        pass

    def fromApp(self, message: Any, session_id: Any) -> None:
        pass


def settings(tmp: Path, port: int) -> Any:
    path = tmp / "initiator.cfg"
    path.write_text(
        "[DEFAULT]\nConnectionType=initiator\nReconnectInterval=60\nStartTime=00:00:00\n"
        "EndTime=00:00:00\nUseDataDictionary=N\nSocketConnectHost=127.0.0.1\n"
        f"FileLogPath={tmp / 'log'}\n"
        f"[SESSION]\nBeginString=FIX.4.4\nSenderCompID=CLIENT\nTargetCompID=DELTATRACE\n"
        f"SocketConnectPort={port}\nHeartBtInt=30\n"
    )
    return fix.SessionSettings(str(path))


async def wait(event: threading.Event, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if event.is_set():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("QuickFIX did not get there in time")


def new_order(cl_ord_id: str) -> Any:
    msg = fix.Message()
    msg.getHeader().setField(fix.MsgType(fix.MsgType_NewOrderSingle))
    msg.setField(fix.ClOrdID(cl_ord_id))
    msg.setField(fix.Symbol("ACME"))
    msg.setField(fix.Side(fix.Side_BUY))
    msg.setField(fix.OrderQty(100))
    msg.setField(fix.OrdType(fix.OrdType_LIMIT))
    msg.setField(fix.Price(101.25))
    msg.setField(fix.TransactTime())
    return msg


async def test_quickfix_initiator_logs_on_recovers_gaps_both_ways_and_delivers_orders(
    harness, tmp_path: Path
) -> None:
    h = await harness()
    # Both sides get out of step: our Logon goes out as 5 (QuickFIX expects 1), and QuickFIX skips
    # two numbers after its Logon: each side must ResendRequest and get gap fills.
    h.store.save(5, 1, [])
    app = Client()
    config = settings(tmp_path, h.port)
    initiator = fix.SocketInitiator(
        app, fix.MemoryStoreFactory(), config, fix.FileLogFactory(config)
    )
    initiator.start()
    try:
        await wait(app.logged_on)
        session = fix.Session.lookupSession(app.session_id)
        skipped_to = session.getExpectedSenderNum() + 2
        session.setNextSenderMsgSeqNum(skipped_to)
        for cl_ord_id in ("Q1", "Q2"):
            fix.Session.sendToTarget(new_order(cl_ord_id), app.session_id)
        # QuickFIX answers our ResendRequest for the skipped numbers; it may resend Q1/Q2 with
        # PossDup or gap-fill over them (this build's MemoryStore does the latter). Either way the
        # session is then in step and the next order must arrive exactly once.
        for _ in range(250):
            if h.store.load()[1] > skipped_to:
                break
            await asyncio.sleep(0.02)
        fix.Session.sendToTarget(new_order("Q3"), app.session_id)
        for _ in range(250):
            if "Q3" in h.app.cl_ord_ids() and session.getExpectedTargetNum() >= 6:
                break
            await asyncio.sleep(0.02)
        assert h.app.cl_ord_ids() in (["Q1", "Q2", "Q3"], ["Q3"])
        assert h.store.load()[1] == session.getExpectedSenderNum() > skipped_to
        assert any("35=2|" in m for m in app.admin_in)  # QuickFIX asked for our missing 1..4
        assert session.getExpectedTargetNum() >= 6  # and accepted our gap fill
        assert h.acceptor.stats["resend_requests"] >= 1
    finally:
        # stop() blocks until the Logout handshake ends: keep our event loop free to answer it.
        await asyncio.to_thread(initiator.stop)
    await wait(app.logged_out)

"""The database side: sequence numbers survive restarts, application messages become capture events."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from adapters.fix.acceptor import FixAcceptor
from adapters.fix.session import SessionConfig
from adapters.fix.store import DatabaseStore, DropCopyRecorder, run_blocking
from adapters.models import FixOutboundMessage, FixSessionState
from deltatrace.models import Capture, Event
from tests.fix_session.initiator import Initiator

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = SessionConfig()


def order(cl_ord_id: str) -> list[tuple[int, str | bytes | int]]:
    return [
        (11, cl_ord_id),
        (55, "ACME"),
        (54, "1"),
        (38, 100),
        (40, "2"),
        (44, "101.25"),
        (60, "20260101-00:00:00.000"),
    ]


def exec_report(cl_ord_id: str, exec_id: str) -> list[tuple[int, str | bytes | int]]:
    return [
        (37, "O-1"),
        (11, cl_ord_id),
        (17, exec_id),
        (150, "0"),
        (39, "0"),
        (55, "ACME"),
        (54, "1"),
        (38, 100),
        (44, "101.25"),
        (14, 0),
        (151, 100),
        (6, "0"),
        (60, "20260101-00:00:00.001"),
    ]


async def start(incident: str = "live-1") -> tuple[FixAcceptor, DropCopyRecorder, int]:
    recorder = DropCopyRecorder(CONFIG, incident)
    await run_blocking(recorder.open)
    acceptor = FixAcceptor(CONFIG, DatabaseStore(CONFIG, incident), recorder, blocking=run_blocking)
    _, port = await acceptor.start("127.0.0.1", 0)
    return acceptor, recorder, port


async def session_with(port: int, messages: list[tuple[str, list]]) -> list[bytes]:  # type: ignore[type-arg]
    """Logon, the messages, Logout; returns the bytes of the messages as sent."""
    ini = await Initiator().connect(port)
    await ini.logon()
    sent = [await ini.send(msg_type, body) for msg_type, body in messages]
    await ini.send("5")
    assert [f.msg_type for f in await ini.expect_closed()] == ["5"]
    return sent


async def test_application_messages_are_stored_as_capture_events_with_raw() -> None:
    acceptor, recorder, port = await start()
    sent = await session_with(port, [("D", order("A")), ("8", exec_report("A", "E1"))])
    await acceptor.stop()

    def check() -> None:
        capture = Capture.objects.get(incident__name="live-1", key="fix-DELTATRACE-CLIENT")
        assert capture.adapter == "fix-session"
        events = list(Event.objects.filter(capture=capture).exclude(kind="Session").order_by("seq"))
        assert [e.kind for e in events] == ["Order", "ExecReport"]
        assert events[0].cl_ord_id == "A" and events[1].exec_id == "E1"
        assert [(e.raw or "").encode() for e in events] == sent
        assert all(e.recv_ts_ns for e in events)
        seqs = list(Event.objects.filter(capture=capture).values_list("seq", flat=True))
        assert sorted(seqs) == list(range(1, len(seqs) + 1))  # session records included, no gaps

    await run_blocking(check)
    assert recorder.accepted == 6  # Logon in and out, D, 8, Logout in and out


async def test_session_messages_are_recorded_both_ways_in_wire_order() -> None:
    acceptor, _, port = await start()
    ini = await Initiator().connect(port)
    await ini.logon()
    await ini.send("1", [(112, "are-you-there")])
    await ini.expect("0")
    await ini.send("D", order("A"))
    await ini.send("5")
    await ini.expect_closed()
    await acceptor.stop()

    def check() -> None:
        events = Event.objects.filter(capture__key="fix-DELTATRACE-CLIENT").order_by("seq")
        got = [
            (e.kind, e.payload_dict().get("msg_type"), e.payload_dict().get("direction"))
            for e in events
        ]
        assert got == [
            ("Session", "A", "in"),
            ("Session", "A", "out"),
            ("Session", "1", "in"),
            ("Session", "0", "out"),
            ("Order", "D", None),
            ("Session", "5", "in"),
            ("Session", "5", "out"),
        ]
        heartbeat = events[3]
        assert heartbeat.payload_dict().get("test_req_id") == "are-you-there"
        assert heartbeat.recv_ts_ns is None  # sent, not received
        assert events[2].recv_ts_ns is not None

    await run_blocking(check)


async def test_a_restart_keeps_sequence_numbers_and_the_capture_continues() -> None:
    acceptor, _, port = await start()
    await session_with(port, [("D", order("A"))])  # Logon 1, D 2, Logout 3
    await acceptor.stop()
    state = await run_blocking(lambda: FixSessionState.objects.get())
    assert (state.next_sender_seq, state.next_target_seq) == (3, 4)

    acceptor, _, port = await start()  # a new process would load the same row
    ini = await Initiator().connect(port)
    ini.seq = 4
    reply = await ini.logon()
    assert reply.get(34) == b"3"
    await ini.send("D", order("B"))
    await ini.send("5")
    await ini.expect_closed()
    await acceptor.stop()

    def check() -> None:
        events = Event.objects.filter(capture__key="fix-DELTATRACE-CLIENT").order_by("seq")
        orders = [(e.seq, e.cl_ord_id) for e in events if e.kind == "Order"]
        assert [cl for _, cl in orders] == ["A", "B"]
        assert orders[1][0] > orders[0][0]  # the capture continues after the restart
        assert events.count() == events.last().seq  # no seq gaps across the restart

    await run_blocking(check)


async def test_after_a_restart_a_logon_with_an_old_sequence_number_is_logged_out() -> None:
    acceptor, _, port = await start()
    await session_with(port, [("D", order("A"))])
    await acceptor.stop()
    acceptor, _, port = await start()
    ini = await Initiator().connect(port)
    await ini.send("A", [(98, 0), (108, 30)], seq=1)
    got = await ini.expect_closed()
    assert b"expecting 4 but received 1" in (got[0].get(58) or b"")
    await acceptor.stop()


async def test_sent_application_messages_are_kept_for_resend_across_restarts() -> None:
    store = DatabaseStore(CONFIG, "live-1")
    await run_blocking(store.save, 5, 2, [(3, "8", b"8=FIX.4.4\x01stored\x01")])
    assert await run_blocking(store.outbound, 1, 10) == {3: b"8=FIX.4.4\x01stored\x01"}
    assert await run_blocking(DatabaseStore(CONFIG).load) == (5, 2)
    await run_blocking(store.reset)
    assert await run_blocking(store.load) == (1, 1)
    assert await run_blocking(FixOutboundMessage.objects.count) == 0


def test_the_command_rejects_bad_options_with_a_clear_error() -> None:
    with pytest.raises(CommandError, match="--port must be"):
        call_command("fix-acceptor", "--port", "70000", "--incident", "x")
    with pytest.raises(CommandError, match="not a valid CompID"):
        call_command("fix-acceptor", "--port", "0", "--incident", "x", "--sender-comp-id", "a=b")

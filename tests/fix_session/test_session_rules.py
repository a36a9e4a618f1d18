"""The acceptor against the FIX session-level test cases, driven over loopback by a test initiator."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.fix.wire import format_utc_timestamp

SEC = 10**9


def order(cl_ord_id: str) -> list[tuple[int, str | bytes | int]]:
    return [(11, cl_ord_id), (55, "ACME"), (54, "1"), (38, 100), (40, "2"), (44, "101.25")]


async def logged_on(harness, **config):  # type: ignore[no-untyped-def]
    h = await harness(**config)
    ini = await h.connect()
    await ini.logon()
    return h, ini


async def assert_alive(ini, seq: int | None = None) -> None:  # type: ignore[no-untyped-def]
    await ini.send("1", [(112, "ping")], seq=seq)
    hb = await ini.expect("0")
    assert hb.get(112) == b"ping"


async def test_it_answers_logon_with_its_own_compids_and_heartbeat_interval(harness) -> None:
    h = await harness()
    ini = await h.connect()
    reply = await ini.logon(heartbeat=30)
    assert reply.get(49) == b"DELTATRACE" and reply.get(56) == b"CLIENT"
    assert reply.get(108) == b"30" and reply.get(34) == b"1"
    assert h.store.load() == (2, 2)


async def test_it_refuses_a_logon_from_another_compid_pair(harness) -> None:
    h = await harness()
    ini = await h.connect(sender="INTRUDER")
    await ini.send("A", [(98, 0), (108, 30)])
    got = await ini.expect_closed()
    assert [f.msg_type for f in got] == ["5"]
    assert b"INTRUDER" in (got[0].get(58) or b"")
    assert got[0].get(56) == b"INTRUDER"
    assert h.store.load() == (1, 1)  # the configured session's numbers are untouched


async def test_it_disconnects_when_the_first_message_is_not_logon(harness) -> None:
    h = await harness()
    ini = await h.connect()
    await ini.send("1", [(112, "x")])
    assert await ini.expect_closed() == []
    assert h.store.load() == (1, 1)


async def test_it_answers_a_test_request_with_its_id(harness) -> None:
    _, ini = await logged_on(harness)
    await assert_alive(ini)


async def test_it_sends_heartbeats_when_it_has_been_quiet(harness) -> None:
    h = await harness()
    ini = await h.connect()
    await ini.logon(heartbeat=1)
    started = time.monotonic()
    await ini.expect("0", timeout=2)
    assert 0.8 < time.monotonic() - started < 1.8


async def test_it_sends_a_test_request_after_silence_and_disconnects_when_unanswered(
    harness,
) -> None:
    h = await harness(heartbeat_grace_ns=SEC // 5)
    ini = await h.connect()
    await ini.logon(heartbeat=1)
    got = await ini.expect_closed(timeout=4)
    types = [f.msg_type for f in got]
    assert "1" in types, types
    assert h.acceptor.last_disconnect == "TestRequest unanswered"


async def test_an_answered_test_request_keeps_the_session(harness) -> None:
    h = await harness(heartbeat_grace_ns=SEC // 5)
    ini = await h.connect()
    await ini.logon(heartbeat=1)
    while (frame := await ini.recv(timeout=3)) is not None and frame.msg_type != "1":
        pass
    assert frame is not None
    await ini.send("0", [(112, frame.get(112) or b"")])
    await asyncio.sleep(0.3)
    await assert_alive(ini)


async def test_a_sequence_gap_is_requested_and_filled_by_possdup_resends(harness) -> None:
    h, ini = await logged_on(harness)
    await ini.send("D", order("A"), seq=2)
    b = ini.build("D", order("B"), seq=3)  # "lost" on the way
    await ini.send("D", order("C"), seq=4)
    rr = await ini.expect("2")
    assert (rr.get(7), rr.get(16)) == (b"3", b"0")
    orig = b.split(b"\x0152=")[1].split(b"\x01")[0]
    await ini.send("D", order("B"), seq=3, possdup=True, orig_sending_time=orig)
    await ini.send("D", order("C"), seq=4, possdup=True, orig_sending_time=orig)
    await assert_alive(ini)
    assert h.app.cl_ord_ids() == ["A", "B", "C"]
    assert h.store.load()[1] == 6


async def test_a_sequence_number_too_low_without_possdup_logs_out(harness) -> None:
    h, ini = await logged_on(harness)
    await ini.send("D", order("A"), seq=2)
    await ini.send("D", order("A2"), seq=2)
    got = await ini.expect_closed()
    assert [f.msg_type for f in got] == ["5"]
    assert b"MsgSeqNum too low, expecting 3 but received 2" in (got[0].get(58) or b"")
    assert h.app.cl_ord_ids() == ["A"]


async def test_a_possdup_of_a_message_already_received_is_ignored(harness) -> None:
    h, ini = await logged_on(harness)
    first = await ini.send("D", order("A"), seq=2)
    orig = first.split(b"\x0152=")[1].split(b"\x01")[0]
    await ini.send("D", order("A"), seq=2, possdup=True, orig_sending_time=orig)
    await assert_alive(ini)
    assert h.app.cl_ord_ids() == ["A"]


async def test_possdup_with_orig_sending_time_after_sending_time_is_rejected(harness) -> None:
    h, ini = await logged_on(harness)
    later = format_utc_timestamp(time.time_ns() + 60 * SEC)
    await ini.send("D", order("A"), seq=2, possdup=True, orig_sending_time=later)
    rej = await ini.expect("3")
    assert (rej.get(45), rej.get(373)) == (b"2", b"10")
    await assert_alive(ini)  # seq 3: the rejected message consumed its number
    assert h.app.messages == []


async def test_possdup_without_orig_sending_time_is_rejected_as_required_tag_missing(
    harness,
) -> None:
    h, ini = await logged_on(harness)
    await ini.send("D", order("A"), seq=2, possdup=True)
    rej = await ini.expect("3")
    assert (rej.get(373), rej.get(371)) == (b"1", b"122")
    assert h.app.messages == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-4] + b"999\x01",  # checksum
        lambda raw: raw.replace(b"\x019=", b"\x019=1", 1),  # body length
    ],
    ids=["bad-checksum", "bad-body-length"],
)
async def test_a_garbled_message_is_ignored_and_then_re_requested(harness, damage) -> None:
    h, ini = await logged_on(harness)
    good = ini.build("D", order("A"), seq=2)
    await ini.send_raw(damage(good))
    await ini.send("D", order("B"), seq=3)  # a gap: the garbled message never counted
    rr = await ini.expect("2")
    assert (rr.get(7), rr.get(16)) == (b"2", b"0")
    orig = good.split(b"\x0152=")[1].split(b"\x01")[0]
    await ini.send("D", order("A"), seq=2, possdup=True, orig_sending_time=orig)
    await assert_alive(ini)
    assert h.app.cl_ord_ids() == ["A", "B"]
    assert h.acceptor.stats["ignored"] == 1


async def test_sending_time_off_by_more_than_120_s_is_rejected_and_logged_out(harness) -> None:
    h, ini = await logged_on(harness)
    await ini.send("D", order("A"), seq=2, sending_time_ns=time.time_ns() - 200 * SEC)
    got = await ini.expect_closed()
    assert [f.msg_type for f in got] == ["3", "5"]
    assert got[0].get(373) == b"10"
    assert h.app.messages == []


async def test_sequence_reset_gap_fill_moves_the_expected_number(harness) -> None:
    h, ini = await logged_on(harness)
    await ini.send("4", [(123, "Y"), (36, 7)], seq=2)
    for _ in range(100):  # nothing is sent back, but the new number is persisted at once
        if h.store.load()[1] == 7:
            break
        await asyncio.sleep(0.01)
    assert h.store.load()[1] == 7
    await ini.send("D", order("A"), seq=7)
    await assert_alive(ini)  # seq 8
    assert h.app.cl_ord_ids() == ["A"]
    assert [f.msg_type for f in ini.received].count("2") == 0


async def test_sequence_reset_gap_fill_not_moving_forward_is_rejected(harness) -> None:
    _, ini = await logged_on(harness)
    await ini.send("4", [(123, "Y"), (36, 2)], seq=2)
    rej = await ini.expect("3")
    assert (rej.get(373), rej.get(371)) == (b"5", b"36")


async def test_sequence_reset_reset_mode_ignores_msg_seq_num(harness) -> None:
    h, ini = await logged_on(harness)
    await ini.send("4", [(36, 20)], seq=999)
    await ini.send("D", order("A"), seq=20)
    await ini.send("4", [(36, 5)], seq=21)  # backwards: refused, numbers unchanged
    rej = await ini.expect("3")
    assert rej.get(373) == b"5"
    await ini.send("D", order("B"), seq=21)
    await assert_alive(ini, seq=22)
    assert h.app.cl_ord_ids() == ["A", "B"]


async def test_malformed_but_framed_messages_get_a_session_reject(harness) -> None:
    h, ini = await logged_on(harness)
    await ini.send("1", [], seq=2)  # TestRequest without TestReqID
    rej = await ini.expect("3")
    assert (rej.get(45), rej.get(372), rej.get(373), rej.get(371)) == (b"2", b"1", b"1", b"112")
    await ini.send("Q1", [(58, "x")], seq=3)
    rej = await ini.expect("3")
    assert (rej.get(45), rej.get(373)) == (b"3", b"11")
    await ini.send("D", [(11, "A"), (58, b"")], seq=4)
    rej = await ini.expect("3")
    assert (rej.get(373), rej.get(371)) == (b"4", b"58")
    await assert_alive(ini)  # seq 5: every rejected message consumed its number
    assert h.app.messages == []


async def test_a_message_with_the_wrong_compid_after_logon_is_rejected_and_logged_out(
    harness,
) -> None:
    _, ini = await logged_on(harness)
    await ini.send("D", order("A"), seq=2, target="SOMEONE")
    got = await ini.expect_closed()
    assert [f.msg_type for f in got] == ["3", "5"]
    assert got[0].get(373) == b"9"


async def test_logout_from_the_initiator_is_answered_then_disconnected(harness) -> None:
    h, ini = await logged_on(harness)
    await ini.send("5", [(58, "bye")])
    got = await ini.expect_closed()
    assert [f.msg_type for f in got] == ["5"]
    assert h.store.load() == (3, 3)


async def test_acceptor_shutdown_runs_the_logout_handshake(harness) -> None:
    h, ini = await logged_on(harness)
    stopping = asyncio.create_task(h.acceptor.stop())
    await ini.expect("5")
    await ini.send("5")
    await asyncio.wait_for(stopping, 3)
    assert await ini.expect_closed() == []
    assert h.acceptor.last_disconnect == "Logout handshake complete"


async def test_it_answers_a_resend_request_with_gap_fill_and_possdup_application_messages(
    harness,
) -> None:
    h, ini = await logged_on(harness)
    h.app.replies = lambda f: [("8", [(37, "O1"), (11, "A"), (150, "0"), (39, "0")])]
    await ini.send("D", order("A"), seq=2)
    report = await ini.expect("8")
    assert report.get(34) == b"2"
    await ini.send("2", [(7, 1), (16, 0)], seq=3)
    fill = await ini.expect("4")
    assert (fill.get(34), fill.get(123), fill.get(36), fill.get(43)) == (b"1", b"Y", b"2", b"Y")
    again = await ini.expect("8")
    assert (again.get(34), again.get(43), again.get(37)) == (b"2", b"Y", b"O1")
    assert again.get(122) == report.get(52)
    await assert_alive(ini)


async def test_logon_with_a_sequence_number_too_high_gets_logon_then_resend_request(
    harness,
) -> None:
    h = await harness()
    ini = await h.connect()
    await ini.logon(seq=5)
    rr = await ini.expect("2")
    assert (rr.get(7), rr.get(16)) == (b"1", b"0")
    await ini.send(
        "4", [(123, "Y"), (36, 6)], seq=1, possdup=True, orig_sending_time=b"20260101-00:00:00"
    )
    await ini.send("D", order("A"), seq=6)
    await assert_alive(ini)
    assert h.app.cl_ord_ids() == ["A"]


async def test_logon_with_a_sequence_number_too_low_is_logged_out(harness) -> None:
    h = await harness()
    h.store.save(4, 9, [])
    ini = await h.connect()
    await ini.send("A", [(98, 0), (108, 30)], seq=3)
    got = await ini.expect_closed()
    assert [f.msg_type for f in got] == ["5"]
    assert b"expecting 9 but received 3" in (got[0].get(58) or b"")


@pytest.mark.parametrize("how", ["peer-asks", "configured"])
async def test_reset_on_logon_starts_both_sides_at_one(harness, how: str) -> None:
    h = await harness(reset_on_logon=how == "configured")
    h.store.save(40, 50, [(39, "8", b"old")])
    ini = await h.connect()
    reply = await ini.logon(reset=how == "peer-asks")
    assert (reply.get(34), reply.get(141)) == (b"1", b"Y")
    assert h.store.load() == (2, 2) and h.store.sent == {}

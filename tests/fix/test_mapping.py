"""FIX messages → capture events: kinds, payloads, keys, timestamps and order-chain parents."""

from __future__ import annotations

import pytest

from adapters.fix.bench import as_log, corpus
from adapters.fix.framing import frame_log
from adapters.fix.log import read_fix_log
from adapters.fix.mapping import FixNormalizer
from adapters.fix.timestamps import FixMappingError, utc_ts_ns
from tests.fix.conftest import msg

T0 = 1735732800 * 10**9  # 2025-01-01T12:00:00Z


def _events(*messages: bytes) -> list[dict]:
    norm = FixNormalizer("cap", "FIRM")
    out: list[dict] = []
    for frame in frame_log(b"".join(messages)).frames:
        out += norm.normalize(frame.fields, frame.msg)
    return out


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        (b"20250101-12:00:00", T0),
        (b"20250101-12:00:00.123", T0 + 123_000_000),
        (b"20250101-12:00:00.123456", T0 + 123_456_000),
        (b"20250101-12:00:00.123456789", T0 + 123_456_789),
        (b"20241231-23:59:60", T0 - 12 * 3600 * 10**9),  # leap second
    ],
)
def test_timestamps_become_exact_integer_nanoseconds(text: bytes, ns: int) -> None:
    assert utc_ts_ns(text) == ns and type(utc_ts_ns(text)) is int


@pytest.mark.parametrize(
    "text",
    [
        b"20250101-12:00",
        b"20251301-12:00:00",
        b"20250101-12:00:00.",
        b"20250101-12:00:00.1234567890",
    ],
)
def test_it_rejects_malformed_timestamps(text: bytes) -> None:
    with pytest.raises(FixMappingError):
        utc_ts_ns(text)


def test_a_bad_sending_time_is_quarantined_not_fatal() -> None:
    bad = msg("0", [], sent="2025-01-01 12:00")
    log = read_fix_log(bad + msg("0", [], seq="2"), "x.log")
    assert log.messages == 1 and log.events[0]["seq"] == 1
    assert log.quarantined[0]["reason"].startswith("bad UTC timestamp")


def test_new_cancel_replace_become_orders_linked_in_a_chain() -> None:
    d = msg(
        "D",
        [
            (11, "A1"),
            (1, "ACC"),
            (55, "ACME"),
            (54, "2"),
            (38, "100"),
            (40, "2"),
            (44, "9.5"),
            (59, "3"),
        ],
    )
    g = msg("G", [(41, "A1"), (11, "A2"), (55, "ACME"), (54, "2"), (38, "50"), (40, "1")], seq="2")
    f = msg("F", [(41, "A2"), (11, "A3"), (55, "ACME"), (54, "2"), (38, "50")], seq="3")
    new, rep, can = _events(d, g, f)
    assert new["kind"] == "Order" and new["lane"] == "fix" and new["host"] == "FIRM"
    expected = {
        "action": "new",
        "side": "SELL",
        "qty": 100,
        "price": "9.5",
        "type": "LIMIT",
        "tif": "IOC",
        "account": "ACC",
        "msg_type": "D",
        "sender_comp_id": "FIRM",
        "target_comp_id": "VENUE",
        "msg_seq_num": 1,
    }
    assert {k: new["payload"][k] for k in expected} == expected
    assert {k: new["payload"][k] for k in ("action", "side", "qty", "price", "type", "tif")} == {
        "action": "new",
        "side": "SELL",
        "qty": 100,
        "price": "9.5",
        "type": "LIMIT",
        "tif": "IOC",
    }
    assert rep["payload"]["action"] == "replace" and rep["payload"]["type"] == "MARKET"
    assert rep["parents"] == [{"seq": new["seq"], "kind": "order_chain"}]
    assert can["payload"]["action"] == "cancel"
    assert can["parents"] == [{"seq": rep["seq"], "kind": "order_chain"}]
    assert can["keys"] == {"symbol": "ACME", "cl_ord_id": "A3", "orig_cl_ord_id": "A2"}
    assert new["ts_ns"] == T0 and new["raw"] == d.decode()


def _er(exec_type: str, begin: str = "FIX.4.4", trade: bool = True) -> bytes:
    body = [
        (37, "V1"),
        (11, "A1"),
        (17, "E1"),
        (150, exec_type),
        (39, "1"),
        (55, "ACME"),
        (54, "1"),
        (38, "100"),
    ]
    if trade:
        body += [(32, "40"), (31, "9.5")]
    body += [(151, "60"), (14, "40"), (6, "9.5")]
    return msg("8", body, begin=begin, sender="VENUE", target="FIRM")


def test_a_trade_report_gives_an_exec_report_and_a_fill() -> None:
    d = msg("D", [(11, "A1"), (55, "ACME"), (54, "1"), (38, "100"), (40, "2"), (44, "9.5")])
    order, report, fill = _events(d, _er("F"))
    assert report["kind"] == "ExecReport" and report["host"] == "VENUE"
    assert report["payload"]["exec_type"] == "TRADE"
    assert report["payload"]["ord_status"] == "PARTIALLY_FILLED"
    assert (report["payload"]["cum_qty"], report["payload"]["leaves_qty"]) == (40, 60)
    assert report["parents"] == [{"seq": order["seq"], "kind": "order_report"}]
    assert report["keys"]["order_id"] == "V1" and report["keys"]["exec_id"] == "E1"
    assert fill["kind"] == "Fill"
    assert fill["payload"] == {
        "side": "BUY",
        "last_qty": 40,
        "last_px": "9.5",
        "cum_qty": 40,
        "leaves_qty": 60,
    }
    assert fill["parents"] == [{"seq": report["seq"], "kind": "report_fill"}]


def test_fix42_partial_fill_exec_type_is_a_trade_but_not_in_fix44() -> None:
    assert [e["kind"] for e in _events(_er("1", begin="FIX.4.2"))] == ["ExecReport", "Fill"]
    assert [e["kind"] for e in _events(_er("1", begin="FIX.4.4"))] == ["ExecReport"]
    assert [e["kind"] for e in _events(_er("0", trade=False))] == ["ExecReport"]


def test_a_report_for_an_unknown_clordid_links_through_orderid() -> None:
    d = msg("D", [(11, "A1"), (55, "ACME"), (54, "1"), (38, "100"), (40, "2"), (44, "9.5")])
    er = _er("0", trade=False)
    unsolicited = msg(
        "8",
        [
            (37, "V1"),
            (17, "E9"),
            (150, "4"),
            (39, "4"),
            (55, "ACME"),
            (54, "1"),
            (151, "0"),
            (14, "0"),
            (6, "0"),
        ],
        sender="VENUE",
        seq="2",
    )
    order, _, cancel = _events(d, er, unsolicited)
    assert cancel["payload"]["exec_type"] == "CANCELED"
    assert cancel["parents"] == [{"seq": order["seq"], "kind": "order_report"}]


@pytest.mark.parametrize(
    ("msg_type", "body", "exec_type", "field"),
    [
        (
            "9",
            [(37, "V1"), (11, "A2"), (41, "A1"), (39, "0"), (434, "1"), (102, "1")],
            "CANCEL_REJECT",
            ("cxl_rej_reason", 1),
        ),
        (
            "3",
            [(45, "7"), (371, "44"), (373, "5"), (58, "bad")],
            "SESSION_REJECT",
            ("ref_seq_num", 7),
        ),
        ("j", [(45, "3"), (372, "D"), (380, "0")], "BUSINESS_REJECT", ("ref_msg_type", "D")),
    ],
)
def test_rejects_become_exec_report_rejects(msg_type, body, exec_type, field) -> None:
    (ev,) = _events(msg(msg_type, body))
    assert ev["kind"] == "ExecReport"
    assert ev["payload"]["exec_type"] == exec_type
    assert ev["payload"][field[0]] == field[1]


def test_a_cancel_reject_links_to_the_cancel_request() -> None:
    f = msg("F", [(41, "A1"), (11, "A2"), (55, "ACME"), (54, "1"), (38, "5")])
    rej = msg(
        "9", [(37, "V1"), (11, "A2"), (41, "A1"), (39, "0"), (434, "1")], sender="VENUE", seq="2"
    )
    cancel, reject = _events(f, rej)
    assert reject["parents"] == [{"seq": cancel["seq"], "kind": "order_report"}]


def test_market_data_gives_one_tick_per_entry() -> None:
    w = msg(
        "W",
        [
            (262, "R"),
            (55, "ACME"),
            (268, "2"),
            (269, "0"),
            (270, "9.9"),
            (271, "500"),
            (269, "1"),
            (270, "10.1"),
            (271, "300"),
        ],
    )
    x = msg(
        "X",
        [
            (268, "2"),
            (279, "1"),
            (269, "2"),
            (55, "GLOBX"),
            (270, "7.5"),
            (271, "10"),
            (279, "2"),
            (269, "0"),
            (55, "ACME"),
            (270, "9.8"),
        ],
        seq="2",
    )
    bid, ask, trade, delete = _events(w, x)
    assert [e["kind"] for e in (bid, ask, trade, delete)] == ["MDTick"] * 4
    assert bid["payload"]["bid"] == "9.9" and bid["payload"]["bid_size"] == 500
    assert ask["payload"]["ask"] == "10.1" and ask["payload"]["entry_type"] == "OFFER"
    assert trade["keys"] == {"symbol": "GLOBX"} and trade["payload"]["last"] == "7.5"
    assert delete["payload"]["update_action"] == "DELETE" and delete["keys"] == {"symbol": "ACME"}
    assert bid["raw"] == w.decode() and "raw" not in ask


@pytest.mark.parametrize("msg_type", ["A", "0", "1", "2", "4", "5"])
def test_session_messages_are_session_records(msg_type: str) -> None:
    (ev,) = _events(msg(msg_type, [(108, "30")] if msg_type == "A" else []))
    assert ev["kind"] == "Session" and ev["payload"]["msg_type"] == msg_type
    if msg_type == "A":
        assert ev["payload"]["heart_bt_int"] == 30


def test_seq_is_gap_free_across_multi_event_messages() -> None:
    w = msg("W", [(55, "ACME"), (268, "2"), (269, "0"), (270, "1"), (269, "1"), (270, "2")])
    evs = _events(w, _er("F"), msg("0", [], seq="3"))
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))


def test_non_utf8_values_are_escaped_not_fatal() -> None:
    norm = FixNormalizer("c", "h")
    (ev,) = norm.normalize(
        [(35, b"5"), (49, b"A"), (52, b"20250101-12:00:00"), (58, b"caf\xe9")], b"x"
    )
    assert ev["payload"]["text"] == "caf\\xe9" and ev["seq"] == 1


def test_repeated_values_are_kept_once_per_value() -> None:
    # Symbols, prices and quantities repeat all day: the events share one object per value, which
    # keeps a large log's events ~10% smaller (and a worker's hand-over shorter).
    log = read_fix_log(as_log(corpus(600, seed=4)), "m.log")
    for values in (
        [e["keys"]["symbol"] for e in log.events if "symbol" in e["keys"]],
        [
            e["payload"]["price"]
            for e in log.events
            if e["kind"] == "Order" and e["payload"]["price"]
        ],
        [e["payload"]["qty"] for e in log.events if e["kind"] == "Order"],
    ):
        assert len(values) > 50
        assert len({id(v) for v in values}) == len(set(values))


def test_more_distinct_values_than_the_share_cache_holds_all_map_exactly() -> None:
    norm = FixNormalizer("c", "HOST")
    values = [f"{i}.25" for i in range(70_000)]  # past the cache's bound: it starts afresh
    assert [norm._share(v) for v in values] == values
    assert [norm._shared_qty(str(i)) for i in range(70_000)] == list(range(70_000))

"""The policy engine: every action on payload, keys and raw FIX; tokens; valid FIX; identity."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deltatrace.privacy import Policy, PolicyError, is_token
from tests.privacy.fixmsg import SOH, assert_valid_fix, fields, fix, tag

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def policy(*rules: dict[str, Any], **extra: Any) -> Policy:
    return Policy.from_dict({"name": "t", "version": 1, "rules": list(rules), **extra})


def order_event(**payload: Any) -> dict[str, Any]:
    raw = fix(
        (49, "FIRM"),
        (56, "XSIM"),
        (50, "trader-jo"),
        (1, "ACC-12345678"),
        (11, "S1-0007"),
        (55, "ACME"),
        (54, "1"),
        (38, "150"),
        (44, "101.27"),
        (60, "20260101-00:00:00.123456789"),
        (58, "call Jo on +44 20 7946 0000"),
    )
    return {
        "seq": 4,
        "kind": "Order",
        "ts_ns": 1_767_225_600_123_456_789,
        "recv_ts_ns": 1_767_225_600_123_999_999,
        "hlc": [1_767_225_600_123_456_789, 2],
        "host": "strategy-1",
        "lane": "executor",
        "keys": {"symbol": "ACME", "cl_ord_id": "S1-0007"},
        "parents": [{"seq": 3, "kind": "plan_order"}],
        "payload": {
            "side": "BUY",
            "qty": 150,
            "price": "101.27",
            "account": "ACC-12345678",
            "text": "call Jo on +44 20 7946 0000",
            **payload,
        },
        "raw": raw,
    }


def test_default_policy_pseudonymizes_the_account_to_one_token_in_payload_and_raw() -> None:
    out = Policy.load("default").apply_event(order_event(), KEY)
    token = out["payload"]["account"]
    assert is_token(token) and token.startswith("pn_")
    assert tag(out["raw"], 1) == [token]
    assert "ACC-12345678" not in str(out)
    # The same account in another event (a venue report) gets the same token.
    report = {"seq": 9, "kind": "ExecReport", "ts_ns": 1, "payload": {"account": "ACC-12345678"}}
    assert Policy.load("default").apply_event(report, KEY)["payload"]["account"] == token


def test_default_policy_drops_free_text_and_keeps_the_fix_message_valid() -> None:
    out = Policy.load("default").apply_event(order_event(), KEY)
    assert "text" not in out["payload"]
    assert tag(out["raw"], 58) == []
    assert "+44" not in out["raw"]
    assert_valid_fix(out["raw"])
    # Untouched tags keep their order and values.
    assert tag(out["raw"], 44) == ["101.27"] and tag(out["raw"], 11) == ["S1-0007"]


def test_default_policy_covers_the_fix_party_account_and_free_text_tags() -> None:
    covered = {int(r["field"][4:]): r["action"] for r in Policy.load("default").rules}
    for t in (1, 109, 448, 452, 50, 57, 115, 116, 128, 129, 143, 144):
        assert covered[t] == "pseudonymize", t
    for t in (58, 354, 355):
        assert covered[t] == "drop", t


def test_sender_sub_id_in_raw_fix_is_pseudonymized_like_any_party_identifier() -> None:
    out = Policy.load("default").apply_event(order_event(), KEY)
    assert tag(out["raw"], 50) != ["trader-jo"] and is_token(tag(out["raw"], 50)[0])


def test_a_correlation_key_pseudonymized_by_tag_matches_keys_and_raw() -> None:
    out = policy({"field": "fix:11", "action": "pseudonymize"}).apply_event(order_event(), KEY)
    assert out["keys"]["cl_ord_id"] == tag(out["raw"], 11)[0] != "S1-0007"
    assert_valid_fix(out["raw"])


def test_keys_rule_applies_to_keys_only() -> None:
    out = policy({"field": "keys.cl_ord_id", "action": "pseudonymize"}).apply_event(
        order_event(), KEY
    )
    assert is_token(out["keys"]["cl_ord_id"])
    assert tag(out["raw"], 11) == ["S1-0007"]


def test_drop_removes_a_key_a_payload_field_and_the_raw_message() -> None:
    p = policy(
        {"field": "keys.cl_ord_id", "action": "drop"},
        {"field": "payload.side", "action": "drop"},
        {"field": "raw", "action": "drop"},
    )
    out = p.apply_event(order_event(), KEY)
    assert out["keys"] == {"symbol": "ACME"}
    assert "side" not in out["payload"] and "raw" not in out


def test_mask_keeps_the_last_characters_everywhere() -> None:
    out = policy({"field": "fix:1", "action": "mask", "keep_last": 4}).apply_event(
        order_event(), KEY
    )
    assert out["payload"]["account"] == "********5678"
    assert tag(out["raw"], 1) == ["********5678"]
    assert_valid_fix(out["raw"])
    masked = policy({"field": "keys.cl_ord_id", "action": "mask", "keep_last": 2, "char": "#"})
    assert masked.apply_event(order_event(), KEY)["keys"]["cl_ord_id"] == "#####07"


@pytest.mark.parametrize(
    ("unit", "ts", "fix_time"),
    [
        ("us", 1_767_225_600_123_456_000, "20260101-00:00:00.123456"),
        ("ms", 1_767_225_600_123_000_000, "20260101-00:00:00.123"),
        ("s", 1_767_225_600_000_000_000, "20260101-00:00:00"),
    ],
)
def test_coarsen_truncates_timestamps_to_the_unit(unit: str, ts: int, fix_time: str) -> None:
    p = policy(
        {"field": "ts_ns", "action": "coarsen", "unit": unit},
        {"field": "hlc", "action": "coarsen", "unit": unit},
        {"field": "fix:60", "action": "coarsen", "unit": unit},
    )
    out = p.apply_event(order_event(), KEY)
    assert out["ts_ns"] == ts
    assert out["hlc"] == [ts, 2]  # the counter is kept
    assert out["recv_ts_ns"] == 1_767_225_600_123_999_999  # no rule on it
    assert tag(out["raw"], 60) == [fix_time]
    assert_valid_fix(out["raw"])


def test_coarsen_buckets_prices_and_quantities_keeping_their_types() -> None:
    p = policy(
        {"field": "fix:44", "action": "coarsen", "bucket": "0.05"},
        {"field": "fix:38", "action": "coarsen", "bucket": 100},
    )
    out = p.apply_event(order_event(), KEY)
    assert out["payload"]["price"] == "101.25"
    assert out["payload"]["qty"] == 100
    assert tag(out["raw"], 44) == ["101.25"] and tag(out["raw"], 38) == ["100"]
    assert_valid_fix(out["raw"])


def test_keep_on_an_exact_path_overrides_a_fix_tag_rule() -> None:
    p = policy(
        {"field": "fix:1", "action": "pseudonymize"},
        {"field": "payload.account", "action": "keep"},
    )
    out = p.apply_event(order_event(), KEY)
    assert out["payload"]["account"] == "ACC-12345678"
    assert is_token(tag(out["raw"], 1)[0])


def test_nested_payload_paths_reach_into_lists() -> None:
    event = {
        "seq": 1,
        "kind": "ExecReport",
        "ts_ns": 5,
        "payload": {"parties": [{"party_id": "BROKER-A", "party_role": "1"}, {"party_id": "X"}]},
    }
    out = policy({"field": "fix:448", "action": "pseudonymize"}).apply_event(event, KEY)
    ids = [p["party_id"] for p in out["payload"]["parties"]]
    assert all(is_token(i) for i in ids) and ids[0] != ids[1]
    assert out["payload"]["parties"][0]["party_role"] == "1"


def test_encoded_text_containing_soh_is_dropped_with_its_length() -> None:
    raw = fix((1, "ACC-1"), (354, "7"), (355, f"ab{SOH}cdef"), (38, "10"))
    event = {"seq": 1, "kind": "Order", "ts_ns": 1, "raw": raw}
    out = Policy.load("default").apply_event(event, KEY)
    assert [t for t, _ in fields(out["raw"])] == [8, 9, 35, 1, 38, 10]
    assert_valid_fix(out["raw"])


def test_events_with_nothing_to_sanitize_are_returned_as_is_and_inputs_never_change() -> None:
    tick = {"seq": 1, "kind": "MDTick", "ts_ns": 1, "keys": {"symbol": "ACME"}, "payload": {}}
    assert Policy.load("default").apply_event(tick, KEY) is tick
    event = order_event()
    before = copy.deepcopy(event)
    Policy.load("default").for_audience("public").apply_event(event, KEY)
    assert event == before


def test_applying_a_policy_twice_changes_nothing_more() -> None:
    p = Policy.load("default").for_audience("public")
    once = p.apply_event(order_event(), KEY)
    assert p.apply_event(once, KEY) == once


def test_tokens_depend_on_the_key() -> None:
    p = policy({"field": "payload.account", "action": "pseudonymize"})
    a = p.apply_event(order_event(), KEY)["payload"]["account"]
    b = p.apply_event(order_event(), OTHER_KEY)["payload"]["account"]
    assert a != b


def test_public_audience_coarsens_time_hides_order_ids_and_drops_raw() -> None:
    out = Policy.load("default").for_audience("public").apply_event(order_event(), KEY)
    assert out["ts_ns"] % 1_000_000 == 0
    assert is_token(out["keys"]["cl_ord_id"]) and "raw" not in out
    assert out["payload"]["qty"] == 100
    internal = Policy.load("default").for_audience("internal").apply_event(order_event(), KEY)
    assert internal["ts_ns"] == order_event()["ts_ns"] and "raw" in internal


def test_policy_identity_is_versioned_and_content_addressed() -> None:
    base = {"name": "p", "version": 1, "rules": [{"field": "fix:1", "action": "drop"}]}
    p = Policy.from_dict(base)
    assert p.digest().startswith("sha256:") and len(p.digest()) == 71
    assert Policy.from_dict(p.as_dict()).digest() == p.digest()
    assert Policy.from_dict({**base, "version": 2}).digest() != p.digest()
    changed = {**base, "rules": [{"field": "fix:1", "action": "pseudonymize"}]}
    assert Policy.from_dict(changed).digest() != p.digest()
    default = Policy.load("default")
    assert default.for_audience("public").digest() != default.digest()
    assert default.for_audience("public").identity()["audience"] == "public"


def test_apply_header_records_the_policy_and_sanitizes_header_fields() -> None:
    p = policy(
        {"field": "host", "action": "pseudonymize"},
        {"field": "header.meta.operator", "action": "drop"},
    )
    header = {
        "format": "deltatrace.capture",
        "version": 1,
        "host": "desk-7",
        "meta": {"operator": "jo"},
    }
    out = p.apply_header(header, KEY)
    assert out["meta"]["privacy"] == p.identity()
    assert "operator" not in out["meta"]
    assert (
        out["host"]
        == p.apply_event({"seq": 1, "kind": "Signal", "ts_ns": 1, "host": "desk-7"}, KEY)["host"]
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"field": "payload.x", "action": "shred"}, "unknown action 'shred'"),
        ({"field": "ts_ns", "action": "coarsen", "unit": "minute"}, "coarsen unit"),
        ({"field": "payload.p", "action": "coarsen"}, "needs a unit"),
        ({"field": "payload.p", "action": "coarsen", "bucket": "-1"}, "positive"),
        ({"field": "ts_ns", "action": "drop"}, "drop is not allowed on ts_ns"),
        ({"field": "seq", "action": "drop"}, "unknown field"),
        ({"field": "fix:abc", "action": "drop"}, "fix:<number>"),
        ({"field": "payload.x", "action": "mask", "keep_last": -1}, "keep_last"),
    ],
)
def test_bad_rules_are_rejected_with_the_rule_named(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match="rule 1") as err:
        policy(rule)
    assert message in str(err.value)


def test_bad_policies_and_unknown_names_give_clear_errors(tmp_path: Any) -> None:
    with pytest.raises(PolicyError, match="version"):
        Policy.from_dict({"name": "p", "version": "1"})
    with pytest.raises(PolicyError, match="unknown audience 'press'"):
        Policy.from_dict({"name": "p", "version": 1, "audiences": {"press": {"rules": []}}})
    with pytest.raises(PolicyError, match="built-in policies: default"):
        Policy.load("nonexistent")
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(PolicyError, match="invalid JSON"):
        Policy.load(str(bad))
    with pytest.raises(PolicyError, match="unknown audience"):
        Policy.load("default").for_audience("press")


_values = st.one_of(st.text(max_size=40), st.integers())


@settings(max_examples=300, deadline=None)
@given(a=_values, b=_values)
def test_pseudonymization_is_deterministic_and_distinguishes_values(a: Any, b: Any) -> None:
    p = policy({"field": "payload.account", "action": "pseudonymize"})

    def token(v: Any) -> str:
        return p.apply_event(
            {"seq": 1, "kind": "Order", "ts_ns": 1, "payload": {"account": v}}, KEY
        )["payload"]["account"]

    assert token(a) == token(a)
    if str(a) != str(b):
        assert token(a) != token(b)


_fix_text = st.text(
    alphabet=st.characters(blacklist_characters="\x01=", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(party=_fix_text, text=_fix_text, symbol=_fix_text)
@example(party="ࠀ", text="\x80\x80", symbol="\x80\x80\x80\x80𐀀𐀀𐀀")
def test_rewritten_fix_is_always_valid_whatever_the_values(
    party: str, text: str, symbol: str
) -> None:
    latin1 = fix((448, party), (452, "3"), (55, symbol), (58, text))
    # Adapters may decode FIX bytes as Latin-1 or as UTF-8; both must stay valid.
    for raw, encoding in ((latin1, "latin-1"), (latin1.encode("latin-1").decode(), "utf-8")):
        event = {"seq": 1, "kind": "Order", "ts_ns": 1, "raw": raw}
        out = Policy.load("default").apply_event(event, KEY)
        assert_valid_fix(out["raw"].encode(encoding).decode("latin-1"))
        assert tag(out["raw"], 58) == [] and is_token(tag(out["raw"], 448)[0])
        assert tag(out["raw"], 55) == tag(raw, 55)


def test_fix_fields_extend_where_a_tag_is_found_in_the_payload() -> None:
    p = policy(
        {"field": "fix:1", "action": "pseudonymize"},
        fix_fields={"1": ["payload.acct", "payload.legs.acct"]},
    )
    event = {"seq": 1, "kind": "Order", "ts_ns": 1,
             "payload": {"acct": "A", "legs": [{"acct": "A"}], "account": "A"}}  # fmt: skip
    out = p.apply_event(event, KEY)["payload"]
    assert out["acct"] == out["legs"][0]["acct"] and is_token(out["acct"])
    assert out["account"] == "A"  # replaced mapping: only the listed paths
    with pytest.raises(PolicyError, match="fix_fields"):
        policy(fix_fields={"1": ["raw"]})


def test_unmapped_fix_fields_kept_by_the_adapter_are_sanitized_by_tag() -> None:
    event = {"seq": 1, "kind": "Annotation", "ts_ns": 1,
             "payload": {"fields": [[35, "AE"], [448, "BROKER-A"], [58, "note"], [55, "ACME"]]}}  # fmt: skip
    out = Policy.load("default").apply_event(event, KEY)["payload"]["fields"]
    assert [t for t, _ in out] == [35, 448, 55]
    assert is_token(out[1][1]) and out[2] == [55, "ACME"]

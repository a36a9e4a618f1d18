"""Approvers sign in headless chromium with WebCrypto Ed25519 keys; the second signature executes a
kill switch that then blocks an order in the exchange sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from deltatrace.canonical import strict_jcs

if "ledger.approvals" not in settings.INSTALLED_APPS:
    pytest.skip("ledger.approvals is not in INSTALLED_APPS", allow_module_level=True)

pytestmark = pytest.mark.browser

# Values whose JCS bytes are easy to get wrong: escapes, non-ASCII, UTF-16 key order, big ints.
JCS_CASES: list[Any] = [
    {"b": 1, "a": "x", "\u20ac": "euro", "\U0001f600": "emoji", "\u00e9": [True, None, False]},
    {"s": 'quote " backslash \\ tab \t newline \n ctrl \u0001 del \u007f'},
    {"n": [0, -1, 9007199254740991, -9007199254740991], "nested": {"z": {}, "y": []}},
    {
        "trigger_digest": "ab" * 32,
        "decision": "approve",
        "key_id": "0123456789abcdef",
        "tree_size": 12,
        "root_hash": "cd" * 32,
        "time": 1767225600000,
    },
]


@pytest.fixture
def flushable() -> Any:
    from ledger.models import maintenance

    with maintenance():  # the flush after a live-server test empties append-only tables
        yield


@pytest.fixture
def ledger_dir(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    from ledger.approvals import sandbox

    monkeypatch.delenv("DELTATRACE_LEDGER_KEY", raising=False)
    settings.DATA_DIR = tmp_path
    sandbox.reset()
    return tmp_path


def _login(chromium: Any, url: str, username: str) -> Any:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/login/?next=/approvals/")
    page.fill("#id_username", username)
    page.fill("#id_password", "browser-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/approvals/")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _sign(page: Any, url: str, trigger_id: int) -> str:
    page.goto(f"{url}/approvals/triggers/{trigger_id}/")
    page.wait_for_selector("#digest-check.ok")
    # A signed page reloads itself shortly after; wait for that, or a later goto races with it.
    with page.expect_navigation(timeout=15_000):
        page.click("#approve-btn")
        page.wait_for_selector("#sign-status[data-result]", timeout=15_000)
        result = str(page.get_attribute("#sign-status", "data-result"))
    return result


def test_two_approvers_sign_in_the_browser_and_the_kill_switch_blocks_an_order(
    flushable, ledger_dir, live_server, chromium, make_user
):
    from ledger.approvals import services
    from ledger.approvals.models import Approval, ApproverKey, Trigger

    carol = make_user("carol", "compliance", password="browser-pass-1")
    make_user("ann", "approver", password="browser-pass-1")
    make_user("bob", "approver", password="browser-pass-1")
    trigger = services.do_propose(
        carol, "kill_switch", {"scope": "symbol", "value": "ACME"}, "runaway orders on ACME"
    )
    url = live_server.url

    ann = _login(chromium, url, "ann")
    # The inbox lists the trigger; the browser's JCS bytes equal the server's for tricky values.
    assert f"#{trigger.pk} engage kill switch symbol=ACME" in ann.inner_text("#inbox")
    ann.goto(f"{url}/approvals/triggers/{trigger.pk}/")
    for case in JCS_CASES:
        assert ann.evaluate("v => DeltaJCS.canonicalize(v)", case) == strict_jcs(case).decode()
    assert "safe integers only" in ann.evaluate(
        "() => { try { DeltaJCS.canonicalize({x: 1.5}); } catch (e) { return e.message; } }"
    )

    assert _sign(ann, url, trigger.pk) == "pending"
    key = ApproverKey.objects.get(user__username="ann")
    approval = Approval.objects.get(trigger=trigger)
    assert approval.key == key and approval.decision == "approve"
    # The private key is a non-extractable CryptoKey in IndexedDB; only the public half left.
    stored = ann.evaluate(
        """async () => {
            const recs = await DeltaSigner.localKeys('ann');
            return recs.map(r => [r.key_id, r.privateKey.extractable, r.privateKey.algorithm.name]);
        }"""
    )
    assert stored == [[key.key_id, False, "Ed25519"]]

    bob = _login(chromium, url, "bob")
    assert _sign(bob, url, trigger.pk) == "executed"
    assert Trigger.objects.get(pk=trigger.pk).status == "executed"

    # The trigger page shows both signatures verified in the browser with inclusion proofs.
    bob.goto(f"{url}/approvals/triggers/{trigger.pk}/")
    bob.wait_for_function(
        "[...document.querySelectorAll('[data-proof]')].every(c => c.textContent.includes('✓'))"
    )
    assert bob.locator("[data-proof]").count() == 2

    order = bob.evaluate(
        """async () => (await DeltaSigner.api('/api/sandbox/orders',
            {symbol: 'ACME', side: 'BUY', qty: 10, price: '101.25'}))"""
    )
    assert order["accepted"] is False
    assert order["reports"][0]["exec_type"] == "REJECTED"
    assert any(r["rule"] == "kill_switch" and r["result"] == "reject" for r in order["risk"])

    bob.goto(f"{url}/ledger/")
    assert "Verified" in bob.inner_text("#verify-status")
    assert "trigger.executed" in bob.inner_text("#entries")
    shots = Path(settings.BASE_DIR) / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    bob.goto(f"{url}/approvals/triggers/{trigger.pk}/")
    bob.wait_for_selector("[data-proof].ok")
    bob.screenshot(path=str(shots / "trigger.png"), full_page=True)
    assert ann.errors == [] and bob.errors == []  # type: ignore[attr-defined]

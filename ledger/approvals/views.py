"""Governance pages: approvals inbox, trigger page, propose form, key management, the ledger.

Signing happens in the page's JavaScript (WebCrypto); these views only render and read.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from deltatrace.models import Incident
from deltatrace.roles import can
from ledger import log
from ledger.approvals import api, rules, services
from ledger.approvals.models import ApproverKey, Policy, Trigger

ENTRIES_PER_PAGE = 50


class AuthedRequest(HttpRequest):
    """The request a ``login_required`` view sees: its user is a signed-in User (for typing)."""

    user: User


@login_required
def inbox(request: AuthedRequest) -> HttpResponse:
    mine = [services.refresh(t) for t in api.inbox(request.user)]
    recent = [services.refresh(t) for t in Trigger.objects.select_related("proposer")[:50]]
    return render(
        request,
        "approvals/inbox.html",
        {
            "mine": mine,
            "recent": recent,
            "can_propose": can(request.user, "propose"),
            "can_approve": can(request.user, "approve"),
        },
    )


@login_required
def trigger_page(request: AuthedRequest, pk: int) -> HttpResponse:
    trigger = services.refresh(get_object_or_404(Trigger, pk=pk))
    data = api.trigger_dict(trigger)
    signed = trigger.approvals.filter(user=request.user).exists()
    policy = Policy.objects.filter(kind=trigger.kind).first()
    own = policy is not None and policy.four_eyes and trigger.proposer_id == request.user.pk
    return render(
        request,
        "approvals/trigger.html",
        {
            "trigger": trigger,
            "data": data,
            "data_json": json.dumps(data),
            "can_sign": can(request.user, "approve")
            and trigger.status == rules.PENDING
            and not signed
            and not own,
            "own": own,
            "signed": signed,
        },
    )


class ProposeForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, rules.KIND_LABELS[k]) for k in rules.KINDS])
    scope = forms.ChoiceField(choices=[(s, s) for s in rules.KILL_SCOPES], required=False)
    value = forms.CharField(max_length=100, required=False, help_text="venue, strategy or symbol")
    limit = forms.ChoiceField(choices=[(n, n) for n in rules.LIMITS], required=False)
    limit_value = forms.CharField(max_length=50, required=False, help_text="empty: switch off")
    strategy = forms.CharField(max_length=100, required=False)
    action = forms.ChoiceField(
        choices=[
            ("engage", "engage"),
            ("release", "release"),
            ("disable", "disable"),
            ("enable", "enable"),
        ],
        required=False,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    incident = forms.ModelChoiceField(Incident.objects.all(), required=False)
    evidence = forms.CharField(
        required=False, help_text="event refs capture_id:seq, separated by spaces or commas"
    )

    def params(self) -> dict[str, Any]:
        d = self.cleaned_data
        kind = d["kind"]
        if kind == rules.KILL_SWITCH:
            action = d["action"] if d["action"] in ("engage", "release") else "engage"
            return {"scope": d["scope"], "value": d["value"], "action": action}
        if kind == rules.RISK_LIMIT:
            return {"limit": d["limit"], "value": d["limit_value"]}
        if kind == rules.STRATEGY:
            return {"strategy": d["strategy"], "action": d["action"]}
        return {}


@login_required
def propose(request: AuthedRequest) -> HttpResponse:
    if not can(request.user, "propose"):
        raise PermissionDenied("Only a compliance officer may propose a trigger.")
    initial = {"incident": request.GET.get("incident"), "evidence": request.GET.get("evidence")}
    form = ProposeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        evidence = form.cleaned_data["evidence"].replace(",", " ").split()
        try:
            trigger = services.do_propose(
                request.user,
                form.cleaned_data["kind"],
                form.params(),
                form.cleaned_data["reason"],
                form.cleaned_data["incident"],
                evidence,
            )
        except rules.RuleError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Trigger #{trigger.pk} proposed and logged.")
            return redirect(trigger.get_absolute_url())
    return render(
        request,
        "approvals/propose.html",
        {"form": form, "policies": Policy.objects.all()},
    )


@login_required
def keys_page(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("revoke"):
        try:
            services.do_revoke_key(request.user, request.POST["revoke"], "revoked on the keys page")
            messages.success(request, f"Key {request.POST['revoke']} revoked.")
        except rules.RuleError as exc:
            messages.error(request, str(exc))
        return redirect("approvals-keys")
    keys = ApproverKey.objects.filter(user=request.user)
    return render(
        request, "approvals/keys.html", {"keys": keys, "can_approve": can(request.user, "approve")}
    )


@login_required
def ledger_page(request: AuthedRequest) -> HttpResponse:
    from ledger.verify import verify

    cp = log.latest_checkpoint()
    report = verify(captures=request.GET.get("captures") == "1")
    size = cp.tree_size
    paginator = Paginator(range(size - 1, -1, -1), ENTRIES_PER_PAGE)  # newest first
    page = paginator.get_page(request.GET.get("page"))
    idx = list(page.object_list)
    rows = []
    if idx:
        for e in reversed(log.entries(min(idx), max(idx) + 1)):
            entry = json.loads(e["canonical"])
            rows.append(
                {
                    "index": e["index"],
                    "leaf_hash": e["leaf_hash"],
                    "entry": entry,
                    "payload": json.dumps(entry.get("payload"), sort_keys=True)[:300],
                }
            )
    return render(
        request,
        "approvals/ledger.html",
        {"cp": cp, "root": bytes(cp.root).hex(), "report": report, "page": page, "rows": rows},
    )

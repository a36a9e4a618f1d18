"""Governance workflow: ``check_*`` validate and raise ``RuleError`` with the user's message;
``do_*`` write, log to the ledger in the same transaction, and notify after commit.

Proposals, key registrations and revocations, approvals and executions are ledger entries
(trigger.proposed, key.registered, key.revoked, approval.recorded, trigger.executed).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from deltatrace.models import Capture, Event, Incident
from deltatrace.roles import can
from ledger import log
from ledger.approvals import rules, sandbox
from ledger.approvals.models import (
    Approval,
    ApproverKey,
    KillSwitch,
    Policy,
    RiskLimitSetting,
    Trigger,
)
from ledger.approvals.rules import RuleError
from ledger.models import Checkpoint

GOVERNANCE_CAPTURE = "governance"


class NotAllowed(RuleError):
    """The user's role does not allow this (HTTP 403)."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _b64(data: str, what: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise RuleError(f"{what} must be base64") from exc


def policy_for(kind: str) -> Policy:
    """The kind's policy; the seeded default comes back if the table was emptied."""
    if kind not in rules.DEFAULT_POLICIES:
        raise RuleError(f"unknown trigger kind {kind!r}; one of {', '.join(rules.KINDS)}")
    policy, _ = Policy.objects.get_or_create(kind=kind, defaults=rules.DEFAULT_POLICIES[kind])
    return policy


# --- proposals ------------------------------------------------------------------------------------


def _evidence_refs(incident: Incident | None, evidence: list[str]) -> list[str]:
    """Each ref ``capture_id:seq`` must name an event of the linked incident."""
    if evidence and incident is None:
        raise RuleError("evidence needs a linked incident")
    out = []
    for ref in evidence:
        cap, _, seq = str(ref).strip().partition(":")
        if not (cap.isdigit() and seq.isdigit()):
            raise RuleError(f"evidence {ref!r} is not an event ref 'capture_id:seq'")
        if not Event.objects.filter(incident=incident, capture_id=int(cap), seq=int(seq)).exists():
            raise RuleError(f"evidence {ref!r} is not an event of incident {incident}")
        out.append(f"{int(cap)}:{int(seq)}")
    return out


def check_propose(
    user: AbstractBaseUser,
    kind: str,
    params: dict[str, Any],
    reason: str,
    incident: Incident | None = None,
    evidence: list[str] | None = None,
) -> tuple[dict[str, Any], Policy]:
    if not can(user, "propose"):
        raise NotAllowed("only a compliance officer (or admin) may propose a trigger")
    policy = policy_for(kind)
    created = now_ms()
    content = rules.trigger_content(
        kind=kind,
        params=params,
        reason=reason,
        incident=incident.name if incident else None,
        evidence=_evidence_refs(incident, list(evidence or [])),
        proposer=user.get_username(),
        created_ms=created,
        expires_ms=created + policy.expiry_seconds * 1000,
        nonce=secrets.token_hex(8),
    )
    return content, policy


def do_propose(
    user: AbstractBaseUser,
    kind: str,
    params: dict[str, Any],
    reason: str,
    incident: Incident | None = None,
    evidence: list[str] | None = None,
) -> Trigger:
    content, policy = check_propose(user, kind, params, reason, incident, evidence)
    digest = rules.content_digest(content)
    with transaction.atomic():
        trigger = Trigger.objects.create(
            kind=kind,
            content=content,
            digest=digest,
            incident=incident,
            proposer=user,  # type: ignore[misc]
            expires_ms=content["expires"],
        )
        entry = log.append(
            "trigger.proposed",
            user.get_username(),
            digest,
            {"trigger_id": trigger.pk, "content": content, "policy": policy.as_dict()},
        )
        Trigger.objects.filter(pk=trigger.pk).update(proposed_index=entry.index)
        trigger.proposed_index = entry.index
    return trigger


# --- approver keys --------------------------------------------------------------------------------


def check_register_key(user: AbstractBaseUser, public_key_b64: str) -> tuple[bytes, str]:
    if not can(user, "approve"):
        raise NotAllowed("only an approver may register a signing key")
    raw = _b64(public_key_b64, "public_key")
    rules.load_public_key(raw)
    kid = rules.key_id(raw)
    if ApproverKey.objects.filter(key_id=kid).exists():
        raise RuleError(f"key {kid} is already registered")
    return raw, kid


def do_register_key(user: AbstractBaseUser, public_key_b64: str, label: str = "") -> ApproverKey:
    raw, kid = check_register_key(user, public_key_b64)
    with transaction.atomic():
        key = ApproverKey.objects.create(
            user=user,  # type: ignore[misc]
            key_id=kid,
            public_key=raw,
            label=label[:100],
        )
        entry = log.append(
            "key.registered",
            user.get_username(),
            kid,
            {
                "key_id": kid,
                "algorithm": "ed25519",
                "public_key": base64.b64encode(raw).decode(),
                "user": user.get_username(),
                "label": key.label,
            },
        )
        ApproverKey.objects.filter(pk=key.pk).update(registered_index=entry.index)
        key.registered_index = entry.index
    return key


def do_revoke_key(user: AbstractBaseUser, key_id: str, reason: str = "") -> ApproverKey:
    key = ApproverKey.objects.filter(key_id=key_id).first()
    if key is None:
        raise RuleError(f"unknown key {key_id!r}")
    if key.user_id != user.pk and not can(user, "edit") and not user.is_superuser:  # type: ignore[attr-defined]
        raise NotAllowed(f"key {key_id} belongs to another user")
    if key.revoked:
        raise RuleError(f"key {key_id} was already revoked at {key.revoked:%Y-%m-%d %H:%M:%S}Z")
    with transaction.atomic():
        key.revoked = timezone.now()
        entry = log.append(
            "key.revoked",
            user.get_username(),
            key_id,
            {"key_id": key_id, "user": key.user.get_username(), "reason": reason[:300]},
        )
        key.revoked_index = entry.index
        key.save(update_fields=["revoked", "revoked_index"])
    return key


# --- approvals ------------------------------------------------------------------------------------


def approvers(policy: Policy) -> set[str]:
    """Usernames of the policy's group (superusers hold every role)."""
    users = User.objects.filter(is_active=True).filter(
        Q(groups__name=policy.group) | Q(is_superuser=True)
    )
    return set(users.values_list("username", flat=True))


def refresh(trigger: Trigger) -> Trigger:
    """Mark a pending trigger expired once its time is up."""
    if trigger.status == rules.PENDING and now_ms() >= trigger.expires_ms:
        Trigger.objects.filter(pk=trigger.pk, status=rules.PENDING).update(status=rules.EXPIRED)
        trigger.status = rules.EXPIRED
    return trigger


def check_content(trigger: Trigger) -> None:
    actual = rules.content_digest(trigger.content)
    if actual != trigger.digest:
        raise RuleError(
            f"trigger #{trigger.pk}'s stored content no longer matches its digest "
            f"(content hashes to {actual[:16]}…, signed digest is {trigger.digest[:16]}…): tampered"
        )


def _check_checkpoint(tree_size: int, root_hex: str, trigger: Trigger) -> None:
    root = bytes.fromhex(root_hex)
    if not Checkpoint.objects.filter(tree_size=tree_size, root=root).exists():
        raise RuleError(
            f"tree_size {tree_size} with root {root_hex[:16]}… is not a signed checkpoint of "
            "this log; sign against GET /api/ledger/checkpoint"
        )
    if trigger.proposed_index is not None and tree_size <= trigger.proposed_index:
        raise RuleError(
            f"checkpoint {tree_size} predates the trigger's proposal (entry "
            f"#{trigger.proposed_index}); fetch a newer checkpoint"
        )


def check_approval(
    user: AbstractBaseUser, trigger: Trigger, statement: Any, signature_b64: str
) -> tuple[dict[str, Any], ApproverKey, str]:
    """Every rule an approval must pass; returns (statement, key, statement digest)."""
    if not can(user, "approve"):
        raise NotAllowed("only an approver may sign a trigger")
    stmt = rules.parse_statement(statement)
    digest = rules.statement_digest(stmt)
    signature = _b64(signature_b64 if isinstance(signature_b64, str) else "", "signature")
    prior = Approval.objects.filter(Q(statement_digest=digest) | Q(signature=signature_b64)).first()
    if prior is not None:
        raise RuleError(
            f"replayed signature: this statement was already recorded (approval #{prior.pk} on "
            f"trigger #{prior.trigger_id})"
        )
    key = ApproverKey.objects.filter(key_id=stmt["key_id"]).select_related("user").first()
    if key is None:
        raise RuleError(f"unknown key {stmt['key_id']!r}: register it first")
    if key.user_id != user.pk:
        raise RuleError(f"key {key.key_id} belongs to another user, not {user.get_username()}")
    if key.revoked:
        raise RuleError(f"key {key.key_id} was revoked at {key.revoked:%Y-%m-%d %H:%M:%S}Z")
    rules.verify_signature(bytes(key.public_key), signature, stmt)
    check_content(trigger)
    if stmt["trigger_digest"] != trigger.digest:
        raise RuleError(
            f"the statement signs digest {stmt['trigger_digest'][:16]}… but trigger #{trigger.pk}'s "
            f"content digest is {trigger.digest[:16]}…: the content differs from what was signed"
        )
    refresh(trigger)
    if trigger.status == rules.EXPIRED:
        raise RuleError(f"trigger #{trigger.pk} expired at {rules.iso_ms(trigger.expires_ms)}")
    if trigger.status != rules.PENDING:
        raise RuleError(f"trigger #{trigger.pk} is already {trigger.status}")
    policy = policy_for(trigger.kind)
    if policy.four_eyes and trigger.proposer_id == user.pk:
        raise RuleError("four-eyes: the proposer of a trigger may not approve or reject it")
    if Approval.objects.filter(trigger=trigger, user=user).exists():  # type: ignore[misc]
        raise RuleError(f"{user.get_username()} has already signed trigger #{trigger.pk}")
    _check_checkpoint(stmt["tree_size"], stmt["root_hash"], trigger)
    rules.check_statement_time(
        stmt["time"], trigger.content["created"], trigger.expires_ms, now_ms()
    )
    return stmt, key, digest


def do_approve(
    user: AbstractBaseUser, trigger: Trigger, statement: Any, signature_b64: str
) -> Approval:
    """Record a signed decision; execute the trigger when it completes the quorum."""
    with transaction.atomic():
        trigger = Trigger.objects.select_for_update().get(pk=trigger.pk)
        stmt, key, digest = check_approval(user, trigger, statement, signature_b64)
        approval = Approval.objects.create(
            trigger=trigger,
            key=key,
            user=user,  # type: ignore[misc]
            decision=stmt["decision"],
            statement=rules.canonical(stmt).decode(),
            statement_digest=digest,
            signature=signature_b64,
            tree_size=stmt["tree_size"],
            root_hash=stmt["root_hash"],
            time_ms=stmt["time"],
        )
        entry = log.append(
            "approval.recorded",
            user.get_username(),
            trigger.digest,
            {
                "trigger_id": trigger.pk,
                "statement": stmt,
                "signature": signature_b64,
                "user": user.get_username(),
            },
        )
        Approval.objects.filter(pk=approval.pk).update(ledger_index=entry.index)
        approval.ledger_index = entry.index
        tally = current_tally(trigger)
        if tally.status == rules.EXECUTED:
            _execute(trigger, user)
        elif tally.status == rules.REJECTED:
            Trigger.objects.filter(pk=trigger.pk).update(status=rules.REJECTED)
        transaction.on_commit(lambda: sandbox.service().sync())
    return approval


def current_tally(trigger: Trigger) -> rules.Tally:
    policy = policy_for(trigger.kind)
    votes = [
        rules.Vote(u, d)
        for u, d in Approval.objects.filter(trigger=trigger).values_list(
            "user__username", "decision"
        )
    ]
    return rules.tally(
        policy.rule(),
        votes,
        trigger.proposer.get_username(),
        approvers(policy),
        now_ms(),
        trigger.expires_ms,
    )


# --- execution ------------------------------------------------------------------------------------


def _apply(trigger: Trigger) -> dict[str, Any]:
    """Make the trigger's change in the database; returns what was done."""
    p = trigger.content["params"]
    reason = f"trigger #{trigger.pk}: {trigger.content['reason']}"[:300]
    if trigger.kind == rules.KILL_SWITCH:
        active = KillSwitch.objects.filter(
            scope=p["scope"], value=p["value"], released__isnull=True
        )
        if p["action"] == "release":
            n = active.update(released=timezone.now())
            return {"kill_switch": f"{p['scope']}={p['value']}", "released": n}
        if not active.exists():
            KillSwitch.objects.create(
                scope=p["scope"], value=p["value"], reason=reason, trigger=trigger
            )
        return {"kill_switch": f"{p['scope']}={p['value']}", "engaged": True}
    if trigger.kind == rules.RISK_LIMIT:
        RiskLimitSetting.objects.update_or_create(
            name=p["limit"], defaults={"value": p["value"] or "", "trigger": trigger}
        )
        return {"limit": p["limit"], "value": p["value"]}
    if trigger.kind == rules.STRATEGY:
        active = KillSwitch.objects.filter(
            scope="strategy", value=p["strategy"], released__isnull=True
        )
        if p["action"] == "enable":
            return {
                "strategy": p["strategy"],
                "enabled": True,
                "released": active.update(released=timezone.now()),
            }
        if not active.exists():
            KillSwitch.objects.create(
                scope="strategy", value=p["strategy"], reason=reason, trigger=trigger
            )
        return {"strategy": p["strategy"], "enabled": False}
    incident = trigger.incident
    assert incident is not None  # rules.trigger_content requires it for a sign-off
    Incident.objects.filter(pk=incident.pk).update(status="closed")
    return {"incident": incident.name, "status": "closed"}


def _record_event(trigger: Trigger, result: dict[str, Any]) -> str | None:
    """An Annotation in the incident's governance capture, caused by the evidence events."""
    if trigger.incident is None:
        return None
    from deltatrace.ingest import append_events, get_or_create_capture

    capture = get_or_create_capture(
        trigger.incident,
        {
            "format": "deltatrace.capture",
            "version": 1,
            "capture": GOVERNANCE_CAPTURE,
            "host": "deltatrace",
            "adapter": "governance",
        },
    )
    capture = Capture.objects.select_for_update().get(pk=capture.pk)  # serialises seq allocation
    last = Event.objects.filter(capture=capture).aggregate(m=Max("seq"))["m"] or 0
    keys = {
        c: k for c, k in Capture.objects.filter(incident=trigger.incident).values_list("pk", "key")
    }
    parents = []
    for ref in trigger.content.get("evidence", []):
        cap, _, seq = ref.partition(":")
        if int(cap) in keys and int(cap) != capture.pk:
            parents.append({"capture": keys[int(cap)], "seq": int(seq), "kind": "causal"})
    event = {
        "seq": last + 1,
        "kind": "Annotation",
        "ts_ns": time.time_ns(),
        "lane": "governance",
        "parents": parents,
        "payload": {
            "action": "trigger.executed",
            "trigger": trigger.pk,
            "trigger_kind": trigger.kind,
            "digest": trigger.digest,
            "summary": trigger.summary,
            "result": result,
        },
    }
    summary = append_events(capture, [event])
    if summary["accepted"] != 1:
        raise RuleError(f"could not record the execution event: {summary}")
    return f"{capture.pk}:{last + 1}"


def _execute(trigger: Trigger, actor: AbstractBaseUser) -> None:
    result = _apply(trigger)
    event_ref = _record_event(trigger, result)
    indices = list(
        Approval.objects.filter(trigger=trigger, decision=rules.APPROVE).values_list(
            "ledger_index", flat=True
        )
    )
    entry = log.append(
        "trigger.executed",
        actor.get_username(),
        trigger.digest,
        {
            "trigger_id": trigger.pk,
            "kind": trigger.kind,
            "approvals": indices,
            "result": result,
            "event": event_ref or "",
        },
    )
    Trigger.objects.filter(pk=trigger.pk).update(
        status=rules.EXECUTED,
        executed_index=entry.index,
        executed_at=timezone.now(),
        result={**result, "event": event_ref},
    )
    if trigger.kind == rules.SIGN_OFF and trigger.incident is not None:
        log.append(
            "incident.closed",
            actor.get_username(),
            trigger.incident.name,
            {"incident": trigger.incident.name, "trigger_id": trigger.pk},
        )

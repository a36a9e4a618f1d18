"""Governance API: triggers, signed approvals, approver keys, policies and the exchange sandbox.

Every refusal is a 400 (403 for a role that may not act) with ``{"detail": "<what is wrong>"}``.
"""

from __future__ import annotations

import base64
from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from deltatrace.models import Incident
from deltatrace.roles import can
from ledger import log
from ledger.approvals import api_docs as docs
from ledger.approvals import rules, sandbox, services
from ledger.approvals.models import Approval, ApproverKey, Policy, Trigger


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a service; its RuleError becomes a 400 (NotAllowed a 403) with the rule's message."""
    try:
        return fn(*args, **kwargs)
    except services.NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except rules.RuleError as exc:
        raise ValidationError({"detail": str(exc)}) from exc


def get_trigger(ref: str) -> Trigger:
    """A trigger by id or by its content digest."""
    q = Q(digest=ref.lower()) if len(ref) == 64 else Q(pk=int(ref)) if ref.isdigit() else None
    trigger = (
        Trigger.objects.filter(q).select_related("proposer", "incident").first() if q else None
    )
    if trigger is None:
        raise Http404(f"no trigger {ref!r}")
    return services.refresh(trigger)


def key_dict(k: ApproverKey) -> dict[str, Any]:
    return {
        "key_id": k.key_id,
        "algorithm": k.algorithm,
        "public_key": base64.b64encode(bytes(k.public_key)).decode(),
        "user": k.user.get_username(),
        "label": k.label,
        "created": k.created.isoformat(),
        "revoked": k.revoked.isoformat() if k.revoked else None,
        "registered_index": k.registered_index,
        "revoked_index": k.revoked_index,
    }


def approval_dict(a: Approval, tree_size: int | None) -> dict[str, Any]:
    proof = None
    if a.ledger_index is not None and tree_size and a.ledger_index < tree_size:
        proof = log.inclusion_proof(a.ledger_index, tree_size)
    return {
        "id": a.pk,
        "user": a.user.get_username(),
        "key_id": a.key.key_id,
        "decision": a.decision,
        "statement": a.statement,
        "signature": a.signature,
        "tree_size": a.tree_size,
        "root_hash": a.root_hash,
        "time": a.time_ms,
        "ledger_index": a.ledger_index,
        "inclusion_proof": proof,
    }


def trigger_dict(t: Trigger, detail: bool = True) -> dict[str, Any]:
    policy = Policy.objects.filter(kind=t.kind).first()
    tally = services.current_tally(t)
    out: dict[str, Any] = {
        "id": t.pk,
        "kind": t.kind,
        "summary": t.summary,
        "digest": t.digest,
        "status": t.status,
        "proposer": t.proposer.get_username(),
        "incident": t.incident_id,
        "reason": t.content.get("reason", ""),
        "created": t.created.isoformat(),
        "expires": rules.iso_ms(t.expires_ms),
        "approvals": tally.approvals,
        "rejections": tally.rejections,
        "required": tally.required,
        "eligible": tally.eligible,
    }
    if not detail:
        return out
    cp = log.latest_checkpoint()
    approvals = t.approvals.select_related("user", "key").order_by("id")
    content_ok = rules.content_digest(t.content) == t.digest
    out.update(
        content=t.content,
        canonical=rules.canonical(t.content).decode(),
        content_matches_digest=content_ok,
        policy=policy.as_dict() if policy else None,
        proposed_index=t.proposed_index,
        executed_index=t.executed_index,
        result=t.result,
        checkpoint={"tree_size": cp.tree_size, "root_hash": bytes(cp.root).hex()},
        signatures=[approval_dict(a, cp.tree_size) for a in approvals],
    )
    return out


class TriggerList(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="pending, executed, rejected, expired"),
            OpenApiParameter("inbox", bool, description="pending triggers I may still sign"),
        ],
        responses={200: docs.TriggerListSerializer, 403: docs.FORBIDDEN},
        operation_id="triggers_list",
        summary="Triggers, newest first",
    )
    def get(self, request: Request) -> Response:
        if not can(request.user, "view"):
            raise PermissionDenied("your role may not view triggers")
        qs = Trigger.objects.select_related("proposer").order_by("-created", "-id")
        if request.query_params.get("inbox") in ("1", "true"):
            qs = inbox(request.user)
        elif request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        return Response({"results": [trigger_dict(services.refresh(t), False) for t in qs[:200]]})

    @extend_schema(
        request=docs.ProposeSerializer,
        responses={201: docs.TriggerSerializer, 400: docs.REFUSED, 403: docs.FORBIDDEN},
        summary="Propose a trigger {kind, params, reason, incident?, evidence?}",
    )
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        incident = None
        ref = data.get("incident")
        if ref not in (None, ""):
            ref = str(ref)
            incident = Incident.objects.filter(
                Q(name=ref) | Q(pk=int(ref)) if ref.isdigit() else Q(name=ref)
            ).first()
            if incident is None:
                raise ValidationError({"detail": f"no incident {ref!r}"})
        evidence = data.get("evidence") or []
        if isinstance(evidence, str):
            evidence = [e for e in evidence.replace(",", " ").split() if e]
        if not isinstance(evidence, list):
            raise ValidationError({"detail": "evidence must be a list of 'capture_id:seq' refs"})
        trigger = _call(
            services.do_propose,
            request.user,
            str(data.get("kind", "")),
            data.get("params") or {},
            str(data.get("reason", "")),
            incident,
            evidence,
        )
        return Response(trigger_dict(trigger), status=status.HTTP_201_CREATED)


def inbox(user: Any) -> Any:
    """Pending triggers this user may still sign (never their own under four-eyes)."""
    qs = Trigger.objects.filter(status=rules.PENDING, expires_ms__gt=services.now_ms())
    qs = qs.exclude(approvals__user=user).select_related("proposer").order_by("expires_ms")
    if not can(user, "approve"):
        return qs.none()
    four_eyes = list(Policy.objects.filter(four_eyes=True).values_list("kind", flat=True))
    return qs.exclude(Q(proposer=user) & Q(kind__in=four_eyes))


class TriggerDetail(APIView):
    @extend_schema(
        responses={200: docs.TriggerSerializer, 403: docs.FORBIDDEN, 404: docs.NOT_FOUND},
        summary="A trigger (by id or digest) with its signatures and their proofs",
    )
    def get(self, request: Request, ref: str) -> Response:
        if not can(request.user, "view"):
            raise PermissionDenied("your role may not view triggers")
        return Response(trigger_dict(get_trigger(ref)))


class ApprovalCreate(APIView):
    @extend_schema(
        request=docs.ApproveSerializer,
        responses={
            201: docs.ApprovalCreatedSerializer,
            400: docs.REFUSED,
            403: docs.FORBIDDEN,
            404: docs.NOT_FOUND,
        },
        summary="Record a signed decision {statement, signature (base64)}",
    )
    def post(self, request: Request, ref: str) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        trigger = get_trigger(ref)
        approval = _call(
            services.do_approve,
            request.user,
            trigger,
            data.get("statement"),
            data.get("signature", ""),
        )
        trigger.refresh_from_db()
        return Response(
            {
                "approval": approval_dict(approval, None),
                "trigger": trigger_dict(trigger, detail=False),
            },
            status=status.HTTP_201_CREATED,
        )


class PolicyList(APIView):
    @extend_schema(responses=docs.PolicyListSerializer, summary="Approval policy per trigger kind")
    def get(self, request: Request) -> Response:
        return Response({"results": [p.as_dict() for p in Policy.objects.all()]})


class KeyList(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("all", bool, description="every user's keys, not just mine")],
        responses=docs.ApproverKeyListSerializer,
        summary="Approver keys: mine, or ?all=1 every user's (public halves only)",
    )
    def get(self, request: Request) -> Response:
        qs = ApproverKey.objects.select_related("user")
        if request.query_params.get("all") not in ("1", "true"):
            # The default permission class (IsAuthenticated) admits only signed-in users.
            qs = qs.filter(user=cast(User, request.user))
        return Response({"results": [key_dict(k) for k in qs]})

    @extend_schema(
        request=docs.RegisterKeySerializer,
        responses={201: docs.ApproverKeySerializer, 400: docs.REFUSED, 403: docs.FORBIDDEN},
        summary="Register my public key {public_key: base64 raw Ed25519, label?}",
    )
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        key = _call(
            services.do_register_key,
            request.user,
            str(data.get("public_key", "")),
            str(data.get("label", "")),
        )
        return Response(key_dict(key), status=status.HTTP_201_CREATED)


class KeyRevoke(APIView):
    @extend_schema(
        request=docs.RevokeKeySerializer,
        responses={200: docs.ApproverKeySerializer, 400: docs.REFUSED, 403: docs.FORBIDDEN},
        summary="Revoke a key {reason?}",
    )
    def post(self, request: Request, key_id: str) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        key = _call(services.do_revoke_key, request.user, key_id, str(data.get("reason", "")))
        return Response(key_dict(key))


class SandboxOrders(APIView):
    @extend_schema(
        request=docs.SandboxOrderSerializer,
        responses={201: docs.SandboxResultSerializer, 400: docs.REFUSED, 403: docs.FORBIDDEN},
        summary="Submit an order to the sandbox risk gateway; risk results and exec reports",
    )
    def post(self, request: Request) -> Response:
        if not (can(request.user, "edit") or can(request.user, "approve")):
            raise PermissionDenied("your role may not send sandbox orders")
        try:
            # submit() itself refuses a body that is not a JSON object (OrderError below).
            result = sandbox.service().submit(cast(dict[str, Any], request.data))
        except sandbox.OrderError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(result, status=status.HTTP_201_CREATED)


class SandboxState(APIView):
    @extend_schema(
        responses=docs.SandboxStateSerializer,
        summary="Kill switches and limits in force in the sandbox risk gateway",
    )
    def get(self, request: Request) -> Response:
        return Response(sandbox.service().state())

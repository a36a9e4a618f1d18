"""Ledger API (RFC 9162 shapes, hex hashes): checkpoint, entries, proofs, keys. Authenticated."""

from __future__ import annotations

import base64
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger import keys, log, note
from ledger.models import SigningKey

MAX_ENTRIES = 1000


def _int_param(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ValidationError({name: f"required: a non-negative integer ?{name}="})
        return default
    if not raw.isdigit():
        raise ValidationError({name: f"must be a non-negative integer, got {raw[:40]!r}"})
    return int(raw)


def _ledger_call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except log.LedgerError as exc:
        raise ValidationError({"detail": str(exc)}) from exc


class CheckpointView(APIView):
    @extend_schema(responses={(200, "text/plain"): str}, summary="Latest signed checkpoint")
    def get(self, request: Request) -> HttpResponse:
        cp = log.latest_checkpoint()
        return HttpResponse(cp.note, content_type="text/plain; charset=utf-8")


class EntriesView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("start", int), OpenApiParameter("end", int)],
        summary=f"Canonical entries with start <= index < end (at most {MAX_ENTRIES})",
    )
    def get(self, request: Request) -> Response:
        size = log.tree_size()
        start = _int_param(request, "start", 0)
        end = _int_param(request, "end", min(size, start + MAX_ENTRIES))
        if start > end:
            raise ValidationError({"detail": f"start {start} is after end {end}"})
        if end > size:
            raise ValidationError({"detail": f"end {end} is beyond the log ({size} entries)"})
        if end - start > MAX_ENTRIES:
            raise ValidationError({"detail": f"at most {MAX_ENTRIES} entries per request"})
        return Response(
            {"tree_size": size, "start": start, "end": end, "entries": log.entries(start, end)}
        )


class InclusionProofView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("index", int), OpenApiParameter("tree_size", int)],
        summary="RFC 9162 inclusion proof",
    )
    def get(self, request: Request) -> Response:
        index = _int_param(request, "index")
        size = _int_param(request, "tree_size")
        return Response(_ledger_call(log.inclusion_proof, index, size))


class ConsistencyProofView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("first", int), OpenApiParameter("second", int)],
        summary="RFC 9162 consistency proof",
    )
    def get(self, request: Request) -> Response:
        first = _int_param(request, "first")
        second = _int_param(request, "second")
        return Response(_ledger_call(log.consistency_proof, first, second))


class KeysView(APIView):
    @extend_schema(summary="Checkpoint signing keys, current and retired")
    def get(self, request: Request) -> Response:
        current = keys.server_key()
        keys.register(current)
        out = []
        for k in SigningKey.objects.all():
            pub = bytes(k.public_key)
            out.append(
                {
                    "key_id": k.key_id,
                    "name": k.name,
                    "algorithm": "ed25519",
                    "public_key": base64.b64encode(pub).decode(),
                    "vkey": note.verifier_key(k.name, pub),
                    "current": k.key_id == current.key_id,
                    "created": k.created.isoformat(),
                    "retired": k.retired.isoformat() if k.retired else None,
                }
            )
        return Response({"origin": keys.origin(), "keys": out})

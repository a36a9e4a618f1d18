"""Ledger API (RFC 9162 shapes, hex hashes): checkpoint, entries, proofs, keys. Authenticated."""

from __future__ import annotations

import base64
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger import keys, log, note
from ledger.models import SigningKey

MAX_ENTRIES = 1000

# The views build plain dicts; these serializers only document those shapes in the OpenAPI schema.
BAD_PARAMS = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='a missing or bad parameter: `{"<param>": "..."}` or `{"detail": "..."}`',
)


class LedgerEntrySerializer(serializers.Serializer):
    index = serializers.IntegerField()
    canonical = serializers.CharField(help_text="the entry's canonical JSON (RFC 8785)")
    leaf_hash = serializers.CharField(help_text="RFC 9162 leaf hash, hex")


class EntriesPageSerializer(serializers.Serializer):
    tree_size = serializers.IntegerField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    entries = LedgerEntrySerializer(many=True)


class InclusionProofSerializer(serializers.Serializer):
    leaf_index = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField(help_text="hex")
    hashes = serializers.ListField(child=serializers.CharField(), help_text="audit path, hex")


class ConsistencyProofSerializer(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    hashes = serializers.ListField(child=serializers.CharField(), help_text="hex")


class SigningKeySerializer(serializers.Serializer):
    key_id = serializers.CharField()
    name = serializers.CharField()
    algorithm = serializers.CharField()
    public_key = serializers.CharField(help_text="raw Ed25519 public key, base64")
    vkey = serializers.CharField(help_text="signed-note verifier key")
    current = serializers.BooleanField()
    created = serializers.DateTimeField()
    retired = serializers.DateTimeField(allow_null=True)


class SigningKeysSerializer(serializers.Serializer):
    origin = serializers.CharField(help_text="the log's origin line in checkpoints")
    keys = SigningKeySerializer(many=True)


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
    @extend_schema(
        responses={(200, "text/plain"): OpenApiTypes.STR},
        summary="Latest signed checkpoint (C2SP signed note)",
    )
    def get(self, request: Request) -> HttpResponse:
        cp = log.latest_checkpoint()
        return HttpResponse(cp.note, content_type="text/plain; charset=utf-8")


class EntriesView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("start", int), OpenApiParameter("end", int)],
        responses={200: EntriesPageSerializer, 400: BAD_PARAMS},
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
        parameters=[
            OpenApiParameter("index", int, required=True),
            OpenApiParameter("tree_size", int, required=True),
        ],
        responses={200: InclusionProofSerializer, 400: BAD_PARAMS},
        summary="RFC 9162 inclusion proof",
    )
    def get(self, request: Request) -> Response:
        index = _int_param(request, "index")
        size = _int_param(request, "tree_size")
        return Response(_ledger_call(log.inclusion_proof, index, size))


class ConsistencyProofView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("first", int, required=True),
            OpenApiParameter("second", int, required=True),
        ],
        responses={200: ConsistencyProofSerializer, 400: BAD_PARAMS},
        summary="RFC 9162 consistency proof",
    )
    def get(self, request: Request) -> Response:
        first = _int_param(request, "first")
        second = _int_param(request, "second")
        return Response(_ledger_call(log.consistency_proof, first, second))


class KeysView(APIView):
    @extend_schema(
        responses=SigningKeysSerializer, summary="Checkpoint signing keys, current and retired"
    )
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

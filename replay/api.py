"""Replay API: start a background run, read its state and steps, cancel it, and the DAG window.

Steps are read by number (``after``/``limit``), which is also how a viewer that missed a notification
catches up: the database holds every step, numbered without gaps.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adapters.strategies.base import STAGES
from deltatrace.api.permissions import capability
from deltatrace.api.serializers import DetailSerializer
from deltatrace.models import Event, Incident
from deltatrace.roles import can
from replay.dag import dag_window
from replay.engine import parse_sets
from replay.load import resolve_event_ref
from replay.models import ReplayRun, step_dicts
from replay.sandbox import ReplayError
from replay.tasks import requeue_stale, start_replay

MAX_STEPS_PAGE = 5000


class StartReplaySerializer(serializers.Serializer):
    incident = serializers.IntegerField()
    stage = serializers.ChoiceField(choices=("all", *STAGES), default="all")
    sets = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="PARAM=VALUE items"
    )
    path = serializers.CharField(required=False, allow_blank=True, default="")
    force = serializers.BooleanField(required=False, default=False)


# The views answer with plain dicts; the serializers below only document those shapes.
class ReplayRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.IntegerField()
    params = serializers.JSONField(help_text="stage, sets, path, force as started")
    status = serializers.ChoiceField(choices=ReplayRun.STATUSES)
    progress = serializers.FloatField(help_text="0..1")
    phase = serializers.CharField()
    total_steps = serializers.IntegerField(allow_null=True)
    steps_written = serializers.IntegerField()
    verdict = serializers.JSONField(allow_null=True)
    run_digest = serializers.CharField(help_text="empty until the run is done")
    error = serializers.CharField(help_text="empty unless the run failed")
    created_by = serializers.CharField(allow_null=True)
    created = serializers.DateTimeField(allow_null=True)
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)


class ReplayRunListSerializer(serializers.Serializer):
    results = ReplayRunSerializer(many=True)


class ReplayStepSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="step number, 1..N without gaps")
    event = serializers.IntegerField(allow_null=True, help_text="the recorded event's id")
    ref = serializers.CharField(help_text="capture key:seq")
    kind = serializers.CharField()
    host = serializers.CharField()
    lane = serializers.CharField()
    ts_ns = serializers.IntegerField(allow_null=True)
    recorded = serializers.CharField(help_text="digest of the recorded output")
    replayed = serializers.CharField(help_text="digest of the replayed output")
    match = serializers.BooleanField(allow_null=True, help_text="null for an input")
    summary = serializers.JSONField()


class ReplayStepsPageSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    status = serializers.CharField()
    steps_written = serializers.IntegerField()
    total_steps = serializers.IntegerField(allow_null=True)
    # "from" is a keyword, hence the explicit field names.
    steps = ReplayStepSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.IntegerField(allow_null=True, help_text="first step shown")
        fields["to"] = serializers.IntegerField(allow_null=True, help_text="last step shown")
        return fields


class DagNodeSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    event_id = serializers.IntegerField(allow_null=True)
    ref = serializers.CharField()
    kind = serializers.CharField()
    host = serializers.CharField()
    lane = serializers.CharField()
    ts_ns = serializers.IntegerField(allow_null=True)
    match = serializers.BooleanField(allow_null=True)
    x = serializers.IntegerField(help_text="merged order (the step number)")
    y = serializers.IntegerField(help_text="lane row")


class DagEdgeSerializer(serializers.Serializer):
    src = serializers.IntegerField(help_text="step number")
    dst = serializers.IntegerField(help_text="step number")
    kind = serializers.CharField()


class DagWindowSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    cursor = serializers.IntegerField()
    lanes = serializers.ListField(child=serializers.CharField())
    nodes = DagNodeSerializer(many=True)
    edges = DagEdgeSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.IntegerField(help_text="first step of the window")
        fields["to"] = serializers.IntegerField(help_text="last step of the window")
        return fields


def validated_params(incident: Incident, data: dict[str, Any]) -> dict[str, Any]:
    """Run parameters from the start form/API; ReplayError on a bad --set or event ref."""
    sets = data.get("sets") or []
    if isinstance(sets, str):
        sets = [s for s in sets.replace(",", "\n").splitlines() if s.strip()]
    path = (data.get("path") or "").strip()
    ref = resolve_event_ref(incident, path) if path else None
    if ref is not None:
        key, _, seq = ref.rpartition(":")
        if not Event.objects.filter(incident=incident, capture__key=key, seq=int(seq)).exists():
            raise ReplayError(f"no event {ref} in incident {incident.name}")
    return {
        "stage": data.get("stage") or "all",
        "sets": parse_sets(sets),
        "path": ref,
        "force": bool(data.get("force")),
    }


class ReplayListCreate(APIView):
    @extend_schema(
        request=StartReplaySerializer,
        responses={
            201: ReplayRunSerializer,
            400: OpenApiResponse(description="bad fields, unknown incident, bad --set or path"),
            403: DetailSerializer,
        },
        summary="Start a replay run in the background",
    )
    def post(self, request: Request) -> Response:
        if not can(request.user, "replay"):
            return Response(
                {"detail": "Your role may not run replays."}, status=status.HTTP_403_FORBIDDEN
            )
        ser = StartReplaySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        incident = Incident.objects.filter(pk=ser.validated_data["incident"]).first()
        if incident is None:
            return Response({"incident": ["No such incident."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            params = validated_params(incident, ser.validated_data)
        except ReplayError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        run = start_replay(incident, params, request.user)
        return Response(run.as_dict(), status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("incident", int, description="only this incident's runs")],
        responses={200: ReplayRunListSerializer, 403: OpenApiResponse(description="no view role")},
        operation_id="replays_list",
        summary="The latest 50 replay runs",
    )
    def get(self, request: Request) -> Response:
        if not can(request.user, "view"):
            return Response(status=status.HTTP_403_FORBIDDEN)
        qs = ReplayRun.objects.select_related("created_by")
        inc = request.query_params.get("incident", "")
        if inc:
            if not inc.isdigit():
                return Response({"incident": ["Must be an integer id."]}, status=400)
            qs = qs.filter(incident_id=int(inc))
        return Response({"results": [r.as_dict() for r in qs[:50]]})


def _visible_run(request: Request, pk: int) -> ReplayRun:
    run = get_object_or_404(ReplayRun.objects.select_related("created_by"), pk=pk)
    return run


class ReplayDetail(APIView):
    permission_classes = [capability("view")]

    @extend_schema(responses={200: ReplayRunSerializer}, summary="A replay run's state")
    def get(self, request: Request, pk: int) -> Response:
        requeue_stale()
        return Response(_visible_run(request, pk).as_dict())


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise serializers.ValidationError({name: ["Must be an integer."]}) from None
    if not lo <= value <= hi:
        raise serializers.ValidationError({name: [f"Must be between {lo} and {hi}."]})
    return value


class ReplaySteps(APIView):
    permission_classes = [capability("view")]

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="return steps numbered above this"),
            OpenApiParameter("limit", int, description=f"at most this many (<= {MAX_STEPS_PAGE})"),
        ],
        responses={200: ReplayStepsPageSerializer},
        summary="A page of a run's steps by number",
    )
    def get(self, request: Request, pk: int) -> Response:
        run = _visible_run(request, pk)
        after = _int_param(request, "after", 0, 0, 2**62)
        limit = _int_param(request, "limit", 500, 1, MAX_STEPS_PAGE)
        steps = step_dicts(run.pk, after, limit)
        return Response(
            {
                "run": run.pk,
                "status": run.status,
                "steps_written": run.steps_written,
                "total_steps": run.total_steps,
                "from": steps[0]["n"] if steps else None,
                "to": steps[-1]["n"] if steps else None,
                "steps": steps,
            }
        )


class ReplayCancel(APIView):
    permission_classes = [capability("replay")]

    @extend_schema(
        request=None,
        responses={200: ReplayRunSerializer, 409: DetailSerializer},
        summary="Cancel a run that has not finished",
    )
    def post(self, request: Request, pk: int) -> Response:
        run = _visible_run(request, pk)
        if not run.cancel():
            return Response(
                {"detail": f"Replay {run.pk} is already {run.status}."},
                status=status.HTTP_409_CONFLICT,
            )
        from replay.tasks import notify

        notify(run.pk, {"type": "run.status"})
        run.refresh_from_db()
        return Response(run.as_dict())


class ReplayDag(APIView):
    permission_classes = [capability("view")]

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", int, description="step number at the centre"),
            OpenApiParameter("window", int, description="steps either side (<= 200)"),
        ],
        responses={200: DagWindowSerializer},
        summary="The causal DAG around a step, laid out in lanes",
    )
    def get(self, request: Request, pk: int) -> Response:
        run = _visible_run(request, pk)
        cursor = _int_param(request, "cursor", 1, 0, 2**62)
        window = _int_param(request, "window", 30, 1, 200)
        return Response(dag_window(run.pk, cursor, window))

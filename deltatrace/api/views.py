"""REST endpoints over the event graph. Thin: querysets, filters and the cores in latency/timeline."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import filters, generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings

from deltatrace.api import serializers as s
from deltatrace.api.auth import CaptureTokenAuthentication
from deltatrace.api.permissions import CanAppendToCapture, ViewOrEdit, capability
from deltatrace.filtersets import EventFilter, FilterBackend, IncidentFilter
from deltatrace.models import (
    Capture,
    CaptureToken,
    Edge,
    Event,
    Incident,
    QuarantinedLine,
    RawAccess,
)

CanView = capability("view")
CanIngest = capability("ingest")
MERGED_ORDER = ("hlc_l", "hlc_c", "host", "capture_id", "seq")


class MergedOrderCursor(CursorPagination):
    """Cursor pages in the merged order; stable under concurrent appends (no offsets to skip)."""

    ordering = MERGED_ORDER
    page_size = 200
    page_size_query_param = "limit"
    max_page_size = 5000


class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Incidents with counts and time window; viewers read, compliance and admin create and edit."""

    serializer_class = s.IncidentSerializer
    permission_classes = [ViewOrEdit]
    filter_backends = [FilterBackend, filters.OrderingFilter]
    filterset_class = IncidentFilter
    ordering_fields = ["created", "name", "start_ns", "event_count", "severity", "status"]

    def get_queryset(self) -> QuerySet[Incident]:
        return Incident.objects.annotate(capture_count=Count("captures")).order_by(
            "-created", "-id"
        )

    def perform_create(self, serializer: BaseSerializer[Incident]) -> None:
        serializer.save(created_by=self.request.user)


class CaptureViewSet(viewsets.ReadOnlyModelViewSet):
    """Captures (one recorded stream each); live adapters append events with a capture token."""

    serializer_class = s.CaptureSerializer
    permission_classes = [CanView]
    filter_backends = [FilterBackend]
    filterset_fields = ["incident", "host", "adapter"]
    queryset = Capture.objects.select_related("incident").order_by("incident_id", "key")

    @extend_schema(
        request=s.AppendEventsSerializer,
        responses={200: s.AppendResultSerializer},
        description=(
            "Append a batch of capture-format events to this capture (idempotent on seq, atomic, "
            'bad events quarantined with reasons). Body: `{"events": [...]}` or a bare JSON array. '
            "Auth: a capture token for this capture, or a user with the ingest capability."
        ),
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="events",
        authentication_classes=[
            CaptureTokenAuthentication,
            *api_settings.DEFAULT_AUTHENTICATION_CLASSES,
        ],
        permission_classes=[CanAppendToCapture],
    )
    def events(self, request: Request, pk: str | None = None) -> Response:
        from deltatrace.ingest import append_events

        capture = get_object_or_404(Capture.objects.select_related("incident"), pk=pk)
        body = {"events": request.data} if isinstance(request.data, list) else request.data
        ser = s.AppendEventsSerializer(data=body)
        ser.is_valid(raise_exception=True)
        result = append_events(capture, ser.validated_data["events"])
        return Response(result, status=status.HTTP_200_OK)

    @extend_schema(
        request=None,
        responses={201: s.CaptureTokenSerializer},
        description="Mint a bearer token that may append events to this capture only.",
    )
    @action(detail=True, methods=["post"], url_path="tokens", permission_classes=[CanIngest])
    def tokens(self, request: Request, pk: str | None = None) -> Response:
        capture = self.get_object()
        token = CaptureToken.objects.create(capture=capture)
        return Response(
            {"capture": capture.pk, "key": token.key, "created": token.created},
            status=status.HTTP_201_CREATED,
        )


class IncidentScoped(generics.GenericAPIView):
    permission_classes = [CanView]

    def incident(self) -> Incident:
        return get_object_or_404(Incident, pk=self.kwargs["incident_pk"])


class LogsRawAccess(generics.GenericAPIView):
    """Writes one RawAccess row for the raw bytes a response revealed (see EventSerializer.get_raw)."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        shown = getattr(request, "raw_shown", None)
        if shown and response.status_code == 200:
            RawAccess.record(request.user, shown, via="api")
        return super().finalize_response(request, response, *args, **kwargs)


class EventList(LogsRawAccess, IncidentScoped, generics.ListAPIView):
    """An incident's events in merged order (hlc, host, capture, seq), cursor-paginated."""

    serializer_class = s.EventSerializer
    pagination_class = MergedOrderCursor
    filter_backends = [FilterBackend]
    filterset_class = EventFilter
    queryset = Event.objects.all()

    def get_queryset(self) -> QuerySet[Event]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no URL kwargs
            return Event.objects.none()
        return Event.objects.filter(incident_id=self.kwargs["incident_pk"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.incident()  # 404 for an unknown incident rather than an empty page
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        assert page is not None
        ctx = {**self.get_serializer_context(), "links": s.edge_links(page)}
        data = s.EventSerializer(page, many=True, context=ctx).data
        return self.get_paginated_response(data)


class EventDetail(LogsRawAccess, generics.RetrieveAPIView):
    """One event with its parents and children."""

    serializer_class = s.EventSerializer
    permission_classes = [CanView]
    queryset = Event.objects.all()


class QuarantineList(IncidentScoped, generics.ListAPIView):
    """Input lines of an incident that could not become events, with the reason for each."""

    serializer_class = s.QuarantinedLineSerializer

    def get_queryset(self) -> QuerySet[QuarantinedLine]:
        return (
            QuarantinedLine.objects.filter(incident_id=self.kwargs["incident_pk"])
            .select_related("capture")
            .order_by("capture_id", "line_no")
        )


_WINDOW_PARAMS = [
    OpenApiParameter("ts_from", OpenApiTypes.INT, description="ts_ns >= this (UTC epoch ns)"),
    OpenApiParameter("ts_to", OpenApiTypes.INT, description="ts_ns <= this (UTC epoch ns)"),
]


def _int_param(request: Request, name: str) -> int | None:
    from rest_framework.exceptions import ValidationError

    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError({name: f"must be an integer, got {value!r}"}) from None


class GraphView(IncidentScoped):
    """Nodes and edges of an incident within a ts_ns window (capped at `limit` nodes)."""

    serializer_class = s.GraphSerializer

    @extend_schema(
        parameters=[
            *_WINDOW_PARAMS,
            OpenApiParameter("limit", OpenApiTypes.INT, description="max nodes (default 2000)"),
        ]
    )
    def get(self, request: Request, incident_pk: int) -> Response:
        incident = self.incident()
        lo, hi = _int_param(request, "ts_from"), _int_param(request, "ts_to")
        limit = min(_int_param(request, "limit") or 2000, 20000)
        qs = Event.objects.filter(incident_id=incident.pk)
        if lo is not None:
            qs = qs.filter(ts_ns__gte=lo)
        if hi is not None:
            qs = qs.filter(ts_ns__lte=hi)
        events = list(qs.order_by(*MERGED_ORDER)[: limit + 1])
        truncated = len(events) > limit
        events = events[:limit]
        nodes = [
            {
                "id": e.pk,
                "ref": e.ref,
                "kind": e.kind,
                "ts_ns": e.ts_ns,
                "host": e.host,
                "lane": e.lane,
                "keys": e.keys_dict(),
            }
            for e in events
        ]
        refs = {(e.capture_id, e.seq) for e in events}
        by_capture: dict[int, list[int]] = {}
        for c, q in refs:
            by_capture.setdefault(c, []).append(q)
        cond = Q()
        for c, seqs in by_capture.items():
            cond |= Q(dst_capture_id=c, dst_seq__in=seqs)
        edges = []
        if refs:
            for sc, ss, dc, ds, kind, inferred in (
                Edge.objects.filter(cond, incident_id=incident.pk)
                .values_list(
                    "src_capture_id", "src_seq", "dst_capture_id", "dst_seq", "kind", "inferred"
                )
                .order_by("dst_capture_id", "dst_seq", "src_capture_id", "src_seq", "kind")
            ):
                if (sc, ss) in refs:  # both ends inside the window
                    edges.append(
                        {
                            "src": f"{sc}:{ss}",
                            "dst": f"{dc}:{ds}",
                            "kind": kind,
                            "inferred": inferred,
                        }
                    )
        return Response({"nodes": nodes, "edges": edges, "truncated": truncated})


class LatencyView(IncidentScoped):
    """Hop latencies (ns) per order and their p50/p90/p99/max for the incident."""

    serializer_class = s.LatencySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "per_order", OpenApiTypes.BOOL, description="include each order's hops"
            )
        ]
    )
    def get(self, request: Request, incident_pk: int) -> Response:
        from deltatrace.latency import incident_latencies, summarize

        incident = self.incident()
        orders = incident_latencies(incident.pk)
        data: dict[str, Any] = {"orders": len(orders), "unit": "ns", "hops": summarize(orders)}
        if request.query_params.get("per_order") in ("1", "true", "yes"):
            data["per_order"] = [o.as_dict() for o in orders]
        return Response(data)


class TimelineView(IncidentScoped):
    """The incident timeline as plotly figure JSON for a window (the page refetches on zoom)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("x0", OpenApiTypes.NUMBER, description="µs from incident start"),
            OpenApiParameter("x1", OpenApiTypes.NUMBER, description="µs from incident start"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, incident_pk: int) -> Response:
        from rest_framework.exceptions import ValidationError

        from deltatrace.timeline import incident_figure

        incident = self.incident()
        start = incident.start_ns or 0
        bounds: list[int | None] = []
        for name in ("x0", "x1"):
            raw = request.query_params.get(name)
            if raw in (None, ""):
                bounds.append(None)
                continue
            try:
                bounds.append(start + round(float(raw) * 1000))
            except ValueError:
                raise ValidationError({name: f"must be a number of µs, got {raw!r}"}) from None
        fig = incident_figure(incident, bounds[0], bounds[1])
        return Response(fig.to_plotly_json())

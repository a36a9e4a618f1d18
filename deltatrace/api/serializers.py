"""API representations. Events carry refs `capture_id:seq` and their parents/children as refs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deltatrace.models import Capture, Edge, Event, Incident, QuarantinedLine
from deltatrace.roles import can


class IncidentSerializer(serializers.ModelSerializer):
    captures = serializers.IntegerField(source="capture_count", read_only=True, default=0)

    class Meta:
        model = Incident
        fields = [
            "id",
            "name",
            "title",
            "severity",
            "status",
            "description",
            "start_ns",
            "end_ns",
            "event_count",
            "quarantined_count",
            "captures",
            "created",
        ]
        read_only_fields = ["start_ns", "end_ns", "event_count", "quarantined_count", "created"]


class CaptureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Capture
        fields = [
            "id",
            "incident",
            "key",
            "host",
            "adapter",
            "clock",
            "strategy",
            "meta",
            "source",
            "event_count",
            "quarantined_count",
            "seq_gaps",
            "digest",
            "created",
        ]
        read_only_fields = fields


class EdgeRefSerializer(serializers.Serializer):
    ref = serializers.CharField(help_text="capture_id:seq")
    kind = serializers.CharField()
    inferred = serializers.BooleanField()


class EventSerializer(serializers.ModelSerializer):
    ref = serializers.CharField(read_only=True, help_text="capture_id:seq")
    hlc = serializers.SerializerMethodField()
    keys = serializers.SerializerMethodField()
    payload = serializers.SerializerMethodField()
    raw = serializers.SerializerMethodField()
    parents = serializers.SerializerMethodField()
    children = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = [
            "id",
            "ref",
            "incident",
            "capture",
            "seq",
            "kind",
            "ts_ns",
            "recv_ts_ns",
            "hlc",
            "host",
            "lane",
            "keys",
            "payload",
            "raw",
            "digest",
            "parents",
            "children",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_hlc(self, obj: Event) -> list[int]:
        return [obj.hlc_l, obj.hlc_c]

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_keys(self, obj: Event) -> dict[str, str]:
        return obj.keys_dict()

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payload(self, obj: Event) -> dict[str, Any]:
        return obj.payload_dict()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_raw(self, obj: Event) -> str | None:
        # Raw source bytes may hold data beyond the payload; only roles with view_raw see them.
        request = self.context.get("request")
        if obj.raw is None or request is None or not can(request.user, "view_raw"):
            return None
        # Every view of raw bytes is logged (RawAccess); the view writes the log once per request.
        if not hasattr(request, "raw_shown"):
            request.raw_shown = []
        request.raw_shown.append(obj)
        return obj.raw

    def _links(self, obj: Event, side: str) -> list[dict[str, Any]]:
        links = self.context.get("links")
        if links is None:
            links = edge_links([obj])
        return links.get((obj.capture_id, obj.seq), {}).get(side, [])

    @extend_schema_field(EdgeRefSerializer(many=True))
    def get_parents(self, obj: Event) -> list[dict[str, Any]]:
        return self._links(obj, "parents")

    @extend_schema_field(EdgeRefSerializer(many=True))
    def get_children(self, obj: Event) -> list[dict[str, Any]]:
        return self._links(obj, "children")


def edge_links(events: list[Event]) -> dict[tuple[int, int], dict[str, list[dict[str, Any]]]]:
    """Parents and children of a page of events in two queries (not two per event)."""
    from django.db.models import Q

    out: dict[tuple[int, int], dict[str, list[dict[str, Any]]]] = {
        (e.capture_id, e.seq): {"parents": [], "children": []} for e in events
    }
    if not events:
        return out
    by_capture: dict[int, list[int]] = {}
    for e in events:
        by_capture.setdefault(e.capture_id, []).append(e.seq)
    as_dst, as_src = Q(), Q()
    for cap, seqs in by_capture.items():
        as_dst |= Q(dst_capture_id=cap, dst_seq__in=seqs)
        as_src |= Q(src_capture_id=cap, src_seq__in=seqs)
    fields = ("src_capture_id", "src_seq", "dst_capture_id", "dst_seq", "kind", "inferred")
    for sc, ss, dc, ds, kind, inferred in Edge.objects.filter(as_dst).values_list(*fields):
        if (dc, ds) in out:
            out[(dc, ds)]["parents"].append(
                {"ref": f"{sc}:{ss}", "kind": kind, "inferred": inferred}
            )
    for sc, ss, dc, ds, kind, inferred in Edge.objects.filter(as_src).values_list(*fields):
        if (sc, ss) in out:
            out[(sc, ss)]["children"].append(
                {"ref": f"{dc}:{ds}", "kind": kind, "inferred": inferred}
            )
    for links in out.values():
        for side in links.values():
            side.sort(
                key=lambda d: (int(d["ref"].split(":")[0]), int(d["ref"].split(":")[1]), d["kind"])
            )
    return out


class QuarantinedLineSerializer(serializers.ModelSerializer):
    capture_key = serializers.CharField(source="capture.key", read_only=True)

    class Meta:
        model = QuarantinedLine
        fields = ["id", "capture", "capture_key", "line_no", "offset_kind", "raw", "reason"]
        read_only_fields = fields


class AppendEventsSerializer(serializers.Serializer):
    events = serializers.ListField(
        child=serializers.DictField(),
        allow_empty=False,
        max_length=100_000,
        help_text="capture-format event objects (docs/capture-format.md)",
    )


class AppendResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    quarantined = serializers.IntegerField()


class CaptureTokenSerializer(serializers.Serializer):
    capture = serializers.IntegerField()
    key = serializers.CharField()
    created = serializers.DateTimeField()


class GraphNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ref = serializers.CharField()
    kind = serializers.CharField()
    ts_ns = serializers.IntegerField()
    host = serializers.CharField()
    lane = serializers.CharField()
    keys = serializers.DictField(child=serializers.CharField())


class GraphEdgeSerializer(serializers.Serializer):
    src = serializers.CharField()
    dst = serializers.CharField()
    kind = serializers.CharField()
    inferred = serializers.BooleanField()


class GraphSerializer(serializers.Serializer):
    nodes = GraphNodeSerializer(many=True)
    edges = GraphEdgeSerializer(many=True)
    truncated = serializers.BooleanField()


class HopStatsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    p50 = serializers.IntegerField(allow_null=True)
    p90 = serializers.IntegerField(allow_null=True)
    p99 = serializers.IntegerField(allow_null=True)
    max = serializers.IntegerField(allow_null=True)


class LatencySerializer(serializers.Serializer):
    orders = serializers.IntegerField()
    unit = serializers.CharField()
    hops = serializers.DictField(child=HopStatsSerializer())
    per_order = serializers.ListField(child=serializers.DictField(), required=False)


class DetailSerializer(serializers.Serializer):
    """The body of a refusal: `{"detail": "<what is wrong>"}` (documentation only)."""

    detail = serializers.CharField()

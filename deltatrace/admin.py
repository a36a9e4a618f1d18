"""Django admin for every event-graph model. Events and edges are read-only: ingest is their only writer."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from deltatrace.models import (
    Capture,
    CaptureToken,
    Edge,
    Event,
    Incident,
    QuarantinedLine,
    RawAccess,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence is never edited by hand: the ledger and digests must keep matching the data."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaptureInline(admin.TabularInline):
    model = Capture
    fields = ("key", "host", "adapter", "event_count", "quarantined_count", "digest")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "title",
        "status",
        "severity",
        "event_count",
        "quarantined_count",
        "created",
    )
    list_filter = ("status", "severity")
    search_fields = ("name", "title", "description")
    readonly_fields = ("start_ns", "end_ns", "event_count", "quarantined_count", "created")
    inlines = [CaptureInline]


@admin.register(Capture)
class CaptureAdmin(admin.ModelAdmin):
    list_display = (
        "key",
        "incident",
        "host",
        "adapter",
        "event_count",
        "quarantined_count",
        "seq_gaps",
    )
    list_filter = ("adapter",)
    search_fields = ("key", "host", "incident__name")
    readonly_fields = ("event_count", "quarantined_count", "seq_gaps", "digest", "created")
    list_select_related = ("incident",)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "capture", "seq", "ts_ns", "host", "lane", "symbol", "cl_ord_id")
    list_filter = ("kind", "lane")
    search_fields = ("cl_ord_id", "order_id", "exec_id", "symbol", "host")
    list_select_related = ("capture", "capture__incident")
    show_full_result_count = False  # COUNT(*) over millions of events on every page is slow


@admin.register(Edge)
class EdgeAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "src_capture", "src_seq", "dst_capture", "dst_seq", "inferred")
    list_filter = ("kind", "inferred")
    list_select_related = (
        "src_capture",
        "dst_capture",
        "src_capture__incident",
        "dst_capture__incident",
    )
    show_full_result_count = False


@admin.register(QuarantinedLine)
class QuarantinedLineAdmin(ReadOnlyAdmin):
    list_display = ("capture", "offset_kind", "line_no", "reason")
    search_fields = ("reason", "raw")
    list_select_related = ("capture", "capture__incident")


@admin.register(CaptureToken)
class CaptureTokenAdmin(admin.ModelAdmin):
    list_display = ("capture", "created")
    readonly_fields = ("key", "created")
    list_select_related = ("capture", "capture__incident")


@admin.register(RawAccess)
class RawAccessAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "incident", "via", "event_count")
    list_filter = ("via",)
    search_fields = ("user__username", "incident__name")

    @admin.display(description="events")
    def event_count(self, obj: RawAccess) -> int:
        return len(obj.refs)

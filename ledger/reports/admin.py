from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ledger.reports.models import Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("report_id", "incident", "audience", "built_by", "built_at", "size")
    list_filter = ("audience",)
    search_fields = ("report_id", "incident__name", "built_by")
    readonly_fields = [f.name for f in Report._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # bundles are built, signed and logged by the build, never typed in

    def has_change_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return False

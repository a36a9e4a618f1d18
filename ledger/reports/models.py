"""Issued report bundles: who built which bundle for which incident, and where the ZIP is kept."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models

from deltatrace.models import Incident

AUDIENCES = [("regulator", "Regulator"), ("internal", "Internal"), ("public", "Public")]


def reports_dir() -> Path:
    return Path(settings.DATA_DIR) / "reports"


class Report(models.Model):
    """One signed bundle. The ZIP lives under DATA_DIR/reports; its SHA-256 is kept here too."""

    report_id = models.CharField(max_length=32, unique=True, help_text="also in the ledger entry")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="reports")
    built_by = models.CharField(max_length=150, help_text="username, or cli:<user> from the CLI")
    built_at = models.DateTimeField(auto_now_add=True)
    audience = models.CharField(max_length=10, choices=AUDIENCES, default="regulator")
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(default=0)
    file = models.CharField(max_length=500, help_text="path relative to DATA_DIR/reports")
    ledger_index = models.BigIntegerField(null=True, blank=True, help_text="report.issued entry")
    events = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-built_at", "-id"]

    def __str__(self) -> str:
        return f"report {self.report_id} of {self.incident.name}"

    @property
    def path(self) -> Path:
        return reports_dir() / self.file

    @property
    def download_name(self) -> str:
        return f"deltatrace-report-{self.incident.name}-{self.report_id[:8]}.zip"

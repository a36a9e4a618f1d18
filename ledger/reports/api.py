"""Reports API: list an incident's reports (view), build one (report), fetch and download (report)."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from deltatrace.api.permissions import capability
from deltatrace.models import Incident
from ledger.reports.bundle import AUDIENCES, build
from ledger.reports.models import Report


class ReportSerializer(serializers.ModelSerializer):
    incident: serializers.SlugRelatedField[Incident] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    download = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "report_id",
            "incident",
            "audience",
            "built_by",
            "built_at",
            "sha256",
            "size",
            "events",
            "ledger_index",
            "download",
        ]

    def get_download(self, obj: Report) -> str:
        return f"/api/reports/{obj.report_id}/download"


class BuildSerializer(serializers.Serializer):
    audience = serializers.ChoiceField(choices=AUDIENCES, default="regulator")


class IncidentReports(APIView):
    def get_permissions(self) -> list[Any]:
        return [capability("view" if self.request.method == "GET" else "report")()]

    @extend_schema(responses=ReportSerializer(many=True), summary="Reports issued for an incident")
    def get(self, request: Request, incident_pk: int) -> Response:
        incident = get_object_or_404(Incident, pk=incident_pk)
        rows = Report.objects.filter(incident=incident).select_related("incident")
        return Response(ReportSerializer(rows, many=True).data)

    @extend_schema(
        request=BuildSerializer,
        responses={201: ReportSerializer},
        summary="Build, sign and log a report bundle",
    )
    def post(self, request: Request, incident_pk: int) -> Response:
        incident = get_object_or_404(Incident, pk=incident_pk)
        ser = BuildSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        built = build(incident, ser.validated_data["audience"], request.user.get_username())
        return Response(ReportSerializer(built.report).data, status=status.HTTP_201_CREATED)


class ReportDetail(APIView):
    permission_classes = [capability("view")]

    @extend_schema(responses=ReportSerializer, summary="One report")
    def get(self, request: Request, report_id: str) -> Response:
        report = get_object_or_404(Report.objects.select_related("incident"), report_id=report_id)
        return Response(ReportSerializer(report).data)


class ReportDownload(APIView):
    permission_classes = [capability("report")]

    @extend_schema(responses={(200, "application/zip"): bytes}, summary="The signed ZIP bundle")
    def get(self, request: Request, report_id: str) -> FileResponse:
        report = get_object_or_404(Report, report_id=report_id)
        if not report.path.is_file():
            raise Http404(f"the bundle file of report {report_id} is missing")
        return FileResponse(
            report.path.open("rb"),
            as_attachment=True,
            filename=report.download_name,
            content_type="application/zip",
        )

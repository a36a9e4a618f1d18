"""Query filters for events and incidents, shared by the API and the incident page's event table."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django_filters.rest_framework import DjangoFilterBackend

from deltatrace.models import EVENT_KINDS, KEY_FIELDS, Event, Incident


class CsvCharFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """`?kind=Order,Fill` as well as `?kind=Order`."""


class EventFilter(django_filters.FilterSet):
    kind = CsvCharFilter(field_name="kind", help_text=f"one or more of {', '.join(EVENT_KINDS)}")
    lane = CsvCharFilter(field_name="lane", help_text="component, e.g. executor,venue")
    host = CsvCharFilter(field_name="host")
    capture = django_filters.NumberFilter(field_name="capture_id")
    ts_from = django_filters.NumberFilter(
        field_name="ts_ns", lookup_expr="gte", help_text="ts_ns >= this (UTC epoch ns)"
    )
    ts_to = django_filters.NumberFilter(
        field_name="ts_ns", lookup_expr="lte", help_text="ts_ns <= this (UTC epoch ns)"
    )
    key = django_filters.CharFilter(
        method="filter_any_key", help_text="matches any correlation key exactly"
    )
    symbol = django_filters.CharFilter()
    cl_ord_id = django_filters.CharFilter()
    orig_cl_ord_id = django_filters.CharFilter()
    order_id = django_filters.CharFilter()
    exec_id = django_filters.CharFilter()
    signal_id = django_filters.CharFilter()
    plan_id = django_filters.CharFilter()

    class Meta:
        model = Event
        fields: list[str] = []

    def filter_any_key(self, queryset: QuerySet[Event], name: str, value: str) -> QuerySet[Event]:
        cond = Q()
        for field in KEY_FIELDS:
            cond |= Q(**{field: value})
        return queryset.filter(cond)


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Incident.STATUSES)
    severity = django_filters.ChoiceFilter(choices=Incident.SEVERITIES)
    search = django_filters.CharFilter(
        method="filter_search", help_text="name, title or description contains"
    )

    class Meta:
        model = Incident
        fields: list[str] = []

    def filter_search(
        self, queryset: QuerySet[Incident], name: str, value: str
    ) -> QuerySet[Incident]:
        return queryset.filter(
            Q(name__icontains=value) | Q(title__icontains=value) | Q(description__icontains=value)
        )


class FilterBackend(DjangoFilterBackend):
    """django-filter's DRF backend with our own form template for the browsable API, so it works
    whether or not `django_filters` is in INSTALLED_APPS."""

    template = "deltatrace/api_filter_form.html"

"""Governance pages (included at the site root)."""

from django.urls import URLPattern, URLResolver, path

from ledger.approvals import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("approvals/", views.inbox, name="approvals-inbox"),
    path("approvals/triggers/new/", views.propose, name="approvals-propose"),
    path("approvals/triggers/<int:pk>/", views.trigger_page, name="approvals-trigger"),
    path("approvals/keys/", views.keys_page, name="approvals-keys"),
    path("ledger/", views.ledger_page, name="ledger-page"),
]

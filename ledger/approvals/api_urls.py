"""Governance API routes (included under /api/)."""

from django.urls import URLPattern, URLResolver, path

from ledger.approvals import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("triggers/", api.TriggerList.as_view(), name="api-triggers"),
    path("triggers/<str:ref>/", api.TriggerDetail.as_view(), name="api-trigger"),
    path("triggers/<str:ref>/approvals/", api.ApprovalCreate.as_view(), name="api-trigger-approve"),
    path("policies/", api.PolicyList.as_view(), name="api-policies"),
    path("approver-keys/", api.KeyList.as_view(), name="api-approver-keys"),
    path(
        "approver-keys/<str:key_id>/revoke/",
        api.KeyRevoke.as_view(),
        name="api-approver-key-revoke",
    ),
    path("sandbox/orders", api.SandboxOrders.as_view(), name="api-sandbox-orders"),
    path("sandbox/state", api.SandboxState.as_view(), name="api-sandbox-state"),
]

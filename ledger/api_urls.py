from django.urls import URLPattern, URLResolver, path

from ledger import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("ledger/checkpoint", api.CheckpointView.as_view(), name="ledger-checkpoint"),
    path("ledger/entries", api.EntriesView.as_view(), name="ledger-entries"),
    path("ledger/proof/inclusion", api.InclusionProofView.as_view(), name="ledger-proof-inclusion"),
    path(
        "ledger/proof/consistency",
        api.ConsistencyProofView.as_view(),
        name="ledger-proof-consistency",
    ),
    path("ledger/keys", api.KeysView.as_view(), name="ledger-keys"),
]

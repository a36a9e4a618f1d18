from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "ledger.approvals"
    label = "approvals"
    verbose_name = "Triggers and approvals"
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "ledger.reports"
    label = "reports"
    verbose_name = "Signed governance reports"
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig


class DeltatraceConfig(AppConfig):
    name = "deltatrace"
    verbose_name = "DeltaTrace event graph"
    default_auto_field = "django.db.models.BigAutoField"

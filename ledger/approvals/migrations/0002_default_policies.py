"""Seed one policy per trigger kind: 2 approvers with four-eyes; kill switches expire in 15 min."""

from django.db import migrations

DEFAULTS = [
    ("kill_switch", 2, 15 * 60, "engage_kill_switch"),
    ("risk_limit", 2, 24 * 3600, "set_risk_limit"),
    ("strategy", 2, 24 * 3600, "toggle_strategy"),
    ("incident_signoff", 2, 24 * 3600, "close_incident"),
]


def seed(apps, schema_editor):
    Policy = apps.get_model("approvals", "Policy")
    for kind, required, expiry, action in DEFAULTS:
        Policy.objects.get_or_create(
            kind=kind,
            defaults={
                "required": required,
                "group": "approver",
                "four_eyes": True,
                "expiry_seconds": expiry,
                "action": action,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("approvals", "Policy").objects.filter(kind__in=[d[0] for d in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]

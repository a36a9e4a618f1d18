"""Admin: policies are editable; keys, triggers and approvals are read-only records (logged)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ledger.approvals.models import (
    Approval,
    ApproverKey,
    KillSwitch,
    Policy,
    RiskLimitSetting,
    Trigger,
)


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("kind", "required", "group", "four_eyes", "expiry_seconds", "action")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApproverKey)
class ApproverKeyAdmin(ReadOnly):
    list_display = ("key_id", "user", "label", "created", "revoked")


@admin.register(Trigger)
class TriggerAdmin(ReadOnly):
    list_display = ("id", "kind", "status", "proposer", "incident", "created")
    list_filter = ("kind", "status")


@admin.register(Approval)
class ApprovalAdmin(ReadOnly):
    list_display = ("id", "trigger", "user", "decision", "ledger_index", "created")


@admin.register(KillSwitch)
class KillSwitchAdmin(ReadOnly):
    list_display = ("scope", "value", "reason", "engaged", "released")


@admin.register(RiskLimitSetting)
class RiskLimitSettingAdmin(ReadOnly):
    list_display = ("name", "value", "updated")

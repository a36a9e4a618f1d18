"""Governance: policies, approver keys, triggers, signed approvals, and the sandbox's persisted controls."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from ledger.approvals import rules

KIND_CHOICES = [(k, rules.KIND_LABELS[k]) for k in rules.KINDS]


class Policy(models.Model):
    """How a kind of trigger is approved: m of the group's n approvers, four-eyes, expiry, action."""

    ACTIONS = [
        ("engage_kill_switch", "Engage/release a kill switch in the sandbox risk gateway"),
        ("set_risk_limit", "Change a limit of the sandbox risk gateway"),
        ("toggle_strategy", "Enable/disable a strategy at the sandbox risk gateway"),
        ("close_incident", "Sign the incident off and close it"),
    ]

    kind = models.CharField(max_length=20, choices=KIND_CHOICES, unique=True)
    required = models.PositiveSmallIntegerField(default=2, help_text="m: approvals needed")
    group = models.CharField(max_length=50, default="approver", help_text="role of the approvers")
    four_eyes = models.BooleanField(default=True, help_text="the proposer never counts")
    expiry_seconds = models.PositiveIntegerField(default=24 * 3600)
    action = models.CharField(max_length=30, choices=ACTIONS)

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.required} of {self.group}"

    def rule(self) -> rules.PolicyRule:
        return rules.PolicyRule(self.required, self.four_eyes, self.expiry_seconds * 1000)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "required": self.required,
            "group": self.group,
            "four_eyes": self.four_eyes,
            "expiry_seconds": self.expiry_seconds,
            "action": self.action,
        }


class ApproverKey(models.Model):
    """An approver's public key; the private half never leaves the browser (or the key file)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key_id = models.CharField(max_length=16, unique=True)
    algorithm = models.CharField(max_length=10, default="ed25519")
    public_key = models.BinaryField(max_length=32)
    label = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    revoked = models.DateTimeField(null=True, blank=True)
    registered_index = models.BigIntegerField(null=True, help_text="key.registered ledger entry")
    revoked_index = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.user})"


class Trigger(models.Model):
    STATUSES = [
        (s, s.title()) for s in (rules.PENDING, rules.EXECUTED, rules.REJECTED, rules.EXPIRED)
    ]

    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    content = models.JSONField(help_text="the canonical content; its digest is what approvers sign")
    digest = models.CharField(max_length=64, unique=True)
    incident = models.ForeignKey(
        "deltatrace.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires_ms = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=STATUSES, default=rules.PENDING)
    proposed_index = models.BigIntegerField(null=True, help_text="trigger.proposed ledger entry")
    executed_index = models.BigIntegerField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="what the execution did")

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} ({self.status})"

    def get_absolute_url(self) -> str:
        return f"/approvals/triggers/{self.pk}/"

    @property
    def summary(self) -> str:
        p = self.content.get("params", {})
        if self.kind == rules.KILL_SWITCH:
            return f"{p.get('action', 'engage')} kill switch {p.get('scope')}={p.get('value')}"
        if self.kind == rules.RISK_LIMIT:
            return f"set {p.get('limit')} = {p.get('value') or 'off'}"
        if self.kind == rules.STRATEGY:
            return f"{p.get('action')} strategy {p.get('strategy')}"
        return f"sign off incident {self.content.get('incident')}"


class Approval(models.Model):
    """One signed decision (approve or reject) of one key on one trigger."""

    trigger = models.ForeignKey(Trigger, on_delete=models.PROTECT, related_name="approvals")
    key = models.ForeignKey(ApproverKey, on_delete=models.PROTECT, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10)
    statement = models.TextField(help_text="the exact RFC 8785 bytes that were signed")
    statement_digest = models.CharField(max_length=64, unique=True)
    signature = models.CharField(max_length=100, unique=True, help_text="base64 Ed25519 signature")
    tree_size = models.BigIntegerField()
    root_hash = models.CharField(max_length=64)
    time_ms = models.BigIntegerField()
    created = models.DateTimeField(auto_now_add=True)
    ledger_index = models.BigIntegerField(null=True, help_text="approval.recorded ledger entry")

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(fields=["trigger", "user"], name="approval_one_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.decision} by key #{self.key_id} on trigger {self.trigger_id}"


class KillSwitch(models.Model):
    """An engaged (or released) kill switch of the sandbox risk gateway."""

    scope = models.CharField(max_length=20)
    value = models.CharField(max_length=100)
    reason = models.CharField(max_length=300)
    trigger = models.ForeignKey(Trigger, null=True, blank=True, on_delete=models.PROTECT)
    engaged = models.DateTimeField(auto_now_add=True)
    released = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-engaged", "-id"]
        verbose_name_plural = "kill switches"

    def __str__(self) -> str:
        return f"{self.scope}={self.value}" + (" (released)" if self.released else "")


class RiskLimitSetting(models.Model):
    """A limit of the sandbox risk gateway set by governance; ``value`` empty switches it off."""

    name = models.CharField(max_length=30, unique=True)
    value = models.CharField(max_length=50, blank=True)
    trigger = models.ForeignKey(Trigger, null=True, blank=True, on_delete=models.PROTECT)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}={self.value or 'off'}"

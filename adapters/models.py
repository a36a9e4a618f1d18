"""Adapter state kept in the database: FIX session sequence numbers and the messages sent."""

from __future__ import annotations

from django.db import models


class FixSessionState(models.Model):
    """One FIX session (BeginString + CompID pair): sequence numbers survive restarts."""

    begin_string = models.CharField(max_length=20)
    sender_comp_id = models.CharField(max_length=64, help_text="our CompID")
    target_comp_id = models.CharField(max_length=64, help_text="the counterparty's CompID")
    next_sender_seq = models.PositiveBigIntegerField(default=1)
    next_target_seq = models.PositiveBigIntegerField(default=1)
    incident = models.CharField(max_length=100, blank=True, help_text="where events go")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["begin_string", "sender_comp_id", "target_comp_id"],
                name="fix_session_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.begin_string} {self.sender_comp_id}->{self.target_comp_id}"


class FixOutboundMessage(models.Model):
    """An application message we sent, kept to answer the peer's ResendRequest with PossDup."""

    session = models.ForeignKey(FixSessionState, on_delete=models.CASCADE, related_name="outbound")
    seq = models.PositiveBigIntegerField()
    msg_type = models.CharField(max_length=4)
    raw = models.BinaryField()

    class Meta:
        ordering = ["session", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="fix_outbound_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.session} #{self.seq} {self.msg_type}"

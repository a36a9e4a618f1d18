"""Read-only admin: the ledger is append-only, so nothing here may add, change or delete."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ledger.models import Checkpoint, LedgerEntry, SigningKey


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnly):
    list_display = ("index", "type")
    list_filter = ("type",)
    search_fields = ("canonical",)


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnly):
    list_display = ("tree_size", "key_id", "created")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnly):
    list_display = ("key_id", "name", "source", "created", "retired")

from django.contrib import admin

from adapters.models import FixOutboundMessage, FixSessionState


@admin.register(FixSessionState)
class FixSessionStateAdmin(admin.ModelAdmin):
    list_display = (
        "begin_string",
        "sender_comp_id",
        "target_comp_id",
        "next_sender_seq",
        "next_target_seq",
        "incident",
        "updated",
    )
    search_fields = ("sender_comp_id", "target_comp_id", "incident")


@admin.register(FixOutboundMessage)
class FixOutboundMessageAdmin(admin.ModelAdmin):
    list_display = ("session", "seq", "msg_type")
    list_filter = ("msg_type",)
    readonly_fields = ("session", "seq", "msg_type", "raw")

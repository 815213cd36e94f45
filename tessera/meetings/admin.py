from django.contrib import admin

from tessera.core.admin import ReadLoggedAdmin

from .models import Event, Invitation, MeetingSession


class InvitationInline(admin.TabularInline):
    model = Invitation
    extra = 0
    fields = ("kind", "email", "created_at", "sent_sequence", "revoked_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Event)
class EventAdmin(ReadLoggedAdmin):
    list_display = ("title", "starts_at", "status", "organiser_email", "organisation")
    list_filter = ("status", "key_in_links")
    search_fields = ("public_id", "room_id", "organiser_email")
    readonly_fields = (
        "room_id",
        "public_id",
        "uid",
        "manage_token_hash",
        # Changing it later would not change the links already emailed (decision 0010).
        "key_in_links",
        "room_secret_check",
        "sequence",
        # Only the organiser's own tick on the form may put an opt-in on its way to the consent ledger.
        "marketing_opt_in_language",
        "marketing_opt_in_version",
    )
    inlines = [InvitationInline]


@admin.register(MeetingSession)
class MeetingSessionAdmin(ReadLoggedAdmin):
    list_display = ("event", "started_at", "ended_at")

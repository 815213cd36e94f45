"""The back-office view of business cards: oversight, not a second editor.

Members edit their cards and organisation admins their templates in the product, through the services that
check the brand lock, the contrast and the consent. Here staff look, deactivate a card, change an
organisation's cards settings, and delete (a rights request). The visitors' contact details (leads) are
read-only and found by exact email only; webhook secrets and payloads, photos and logos are never shown.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tessera.core.admin import ReadLoggedAdmin, ViewOnlyAdmin

from . import services
from .fields import LEAD_DETAILS, LEAD_FOLLOW_UP, PROFILE
from .models import (
    Card,
    CardDailyStat,
    CardInvitation,
    CardsSettings,
    CardTemplate,
    Lead,
    LeadWebhook,
    WebhookDelivery,
)


@admin.register(CardsSettings)
class CardsSettingsAdmin(admin.ModelAdmin):
    list_display = ("organisation", "admins_see_leads", "inactive_action")
    list_filter = ("admins_see_leads", "inactive_action")
    search_fields = ("organisation__name", "organisation__slug")
    list_select_related = ("organisation",)
    fields = ("organisation", "admins_see_leads", "inactive_action")
    readonly_fields = ("organisation",)

    def has_add_permission(self, request):
        return False  # created with the organisation


@admin.register(CardTemplate)
class CardTemplateAdmin(ViewOnlyAdmin):
    list_display = ("name", "organisation", "font", "layout", "is_default", "updated_at")
    list_filter = ("font", "layout", "is_default")
    search_fields = ("name", "organisation__name", "organisation__slug")
    list_select_related = ("organisation",)
    fields = (
        "name",
        "organisation",
        "primary_colour",
        "background_colour",
        "text_colour",
        "font",
        "layout",
        "locked_values",
        "departments",
        "groups",
        "is_default",
        "updated_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("logo")


@admin.register(Card)
class CardAdmin(ReadLoggedAdmin):
    """A card is its owner's: staff can deactivate it (abuse) or delete it, not rewrite it."""

    list_display = (
        "__str__",
        "slug",
        "organisation",
        "owner",
        "template",
        "is_active",
        "updated_at",
        "last_viewed_at",
    )
    list_filter = ("is_active", ("organisation", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=slug", "first_name", "last_name", "owner__email", "organisation__name")
    list_select_related = ("organisation", "owner", "template")
    ordering = ("-updated_at",)
    actions = ["deactivate", "activate"]
    fieldsets = (
        (
            None,
            {"fields": ("slug", "public_link", "is_active", "owner", "organisation", "template", "groups")},
        ),
        (
            _("Profile"),
            {"fields": (*PROFILE, "photo_version")},
        ),
        (
            _("Directory"),
            {"fields": ("directory_source", "directory_fields", "directory_off", "directory_template")},
        ),
        (_("Dates"), {"fields": ("created_at", "updated_at", "last_viewed_at")}),
    )
    readonly_fields = tuple(
        name for _title, options in fieldsets for name in options["fields"] if name != "is_active"
    )

    def get_queryset(self, request):
        return super().get_queryset(request).defer("photo", "photo_small", "template__logo")

    def has_add_permission(self, request):
        return False  # a card comes with an account or an accepted invitation

    @admin.display(description=_("public page"))
    def public_link(self, obj):
        url = reverse("cards_public:card", args=[obj.slug])
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', url, url)

    def _set_active(self, request, queryset, active: bool) -> None:
        updated, refused = 0, 0
        for card in queryset.exclude(is_active=active):
            try:
                services.card_set_active(card=card, active=active)
            except ValidationError:
                refused += 1
            else:
                updated += 1
        self.message_user(
            request,
            ngettext("%(count)d card updated.", "%(count)d cards updated.", updated) % {"count": updated},
            messages.SUCCESS,
        )
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)d card stays deactivated: its owner is no longer a member of its organisation.",
                    "%(count)d cards stay deactivated: their owners are no longer members of their organisations.",
                    refused,
                )
                % {"count": refused},
                messages.ERROR,
            )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class ActivationChecked(form):
            def clean(self):
                cleaned = super().clean()
                if cleaned.get("is_active") and self.instance.pk:
                    try:
                        services.card_activation_check(card=self.instance)
                    except ValidationError as error:
                        self.add_error("is_active", error.message_dict["is_active"])
                return cleaned

        return ActivationChecked

    @admin.action(permissions=["change"], description=_("Deactivate the selected cards"))
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(permissions=["change"], description=_("Reactivate the selected cards"))
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)


@admin.register(CardInvitation)
class CardInvitationAdmin(ViewOnlyAdmin):
    list_display = ("email", "organisation", "role", "invited_by", "created_at", "accepted_at")
    list_filter = ("role", ("accepted_at", admin.EmptyFieldListFilter))
    search_fields = ("=email", "organisation__name")
    list_select_related = ("organisation", "invited_by")
    ordering = ("-created_at",)
    # Never the token's hash.
    fields = (
        "email",
        "organisation",
        "first_name",
        "last_name",
        "job_title",
        "department",
        "role",
        "invited_by",
        "created_at",
        "accepted_at",
    )
    readonly_fields = fields


@admin.register(Lead)
class LeadAdmin(ViewOnlyAdmin):
    """A visitor's details, given to a card's owner: read-only, found by exact address (rights requests)."""

    list_display = ("name", "card", "organisation", "status", "language", "created_at", "last_contact_at")
    list_filter = ("status", "language")
    search_fields = ("=email", "=card__slug")
    list_select_related = ("card", "organisation")
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": (*LEAD_DETAILS, "language")}),
        (_("Card"), {"fields": ("card", "owner", "organisation", *LEAD_FOLLOW_UP)}),
        (_("Consent"), {"fields": ("consent_version", "consent_record_id", "created_at", "last_contact_at")}),
    )
    readonly_fields = tuple(name for _title, options in fieldsets for name in options["fields"])


@admin.register(CardDailyStat)
class CardDailyStatAdmin(ViewOnlyAdmin):
    list_display = ("card", "day", "views", "views_nfc", "views_qr", "views_link", "vcard_saves", "exchanges")
    search_fields = ("=card__slug",)
    list_select_related = ("card",)
    date_hierarchy = "day"
    ordering = ("-day",)
    readonly_fields = (
        "card",
        "day",
        "views_nfc",
        "views_qr",
        "views_link",
        "views_direct",
        "vcard_saves",
        "exchanges",
    )

    @admin.display(description=_("views"))
    def views(self, obj):
        return obj.views


@admin.register(LeadWebhook)
class LeadWebhookAdmin(admin.ModelAdmin):
    """Staff may switch an endpoint off; the signing secret is never shown."""

    list_display = ("url", "organisation", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "organisation__name")
    list_select_related = ("organisation",)
    fields = ("url", "organisation", "is_active", "created_at")
    readonly_fields = ("url", "organisation", "created_at")

    def has_add_permission(self, request):
        return False  # the secret is given once, by the service that creates the webhook


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewOnlyAdmin):
    """Delivery state only: the payload holds a lead's details."""

    list_display = (
        "event",
        "organisation",
        "webhook_url",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    )
    list_filter = ("status", "event")
    search_fields = ("webhook__url", "webhook__organisation__name")
    list_select_related = ("webhook__organisation",)
    ordering = ("-created_at",)
    fields = (
        "event",
        "webhook",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "created_at",
        "delivered_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("payload")

    @admin.display(description=_("organisation"), ordering="webhook__organisation__name")
    def organisation(self, obj):
        return obj.webhook.organisation

    @admin.display(description=_("URL"), ordering="webhook__url")
    def webhook_url(self, obj):
        return obj.webhook.url

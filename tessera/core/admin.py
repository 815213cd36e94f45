import base64
import hashlib
from html.parser import HTMLParser

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.models import DELETION
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.functions import Length
from django.http import Http404, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import OutboxAttachment, OutboxMessage, SecurityEvent
from .outbox import outbox_retry
from .signals import admin_action_record, admin_read_record

# --- Actions on every model ----------------------------------------------------------------------------


@admin.action(permissions=["delete"], description=django_delete_selected.short_description)
def delete_selected(modeladmin, request, queryset):
    """Django's action, plus the security events: Django bulk-creates the LogEntry rows of a deletion
    of several objects, and bulk creation sends no post_save signal (tessera.core.signals)."""
    confirmed = bool(request.POST.get("post"))
    object_ids = [str(pk) for pk in queryset.values_list("pk", flat=True)] if confirmed else []
    with transaction.atomic():
        response = django_delete_selected(modeladmin, request, queryset)
        if response is None and len(object_ids) > 1:  # deleted; a single deletion was saved and signalled
            model = f"{modeladmin.opts.app_label}.{modeladmin.opts.model_name}"
            for object_id in object_ids:
                admin_action_record(user=request.user, action_flag=DELETION, model=model, object_id=object_id)
    return response


admin.site.add_action(delete_selected, "delete_selected")


# --- Reads of personal data ---------------------------------------------------------------------------


class ReadLoggedMixin:
    """Back-office reads are logged ("journalisation des accès"): every list page records which rows it
    showed, and every record page or history which record it opened, with the staff member, in the
    security log. A form sent back with errors shows the record again and is logged again."""

    def _model_label(self) -> str:
        return f"{self.opts.app_label}.{self.opts.model_name}"

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None and response.status_code == 200:
            admin_read_record(
                user=request.user,
                model=self._model_label(),
                object_ids=[row.pk for row in changelist.result_list],
                view="list",
                request=request,
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            admin_read_record(
                user=request.user,
                model=self._model_label(),
                object_ids=[unquote(object_id)],
                view="record",
                request=request,
            )
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        if response.status_code == 200:
            admin_read_record(
                user=request.user,
                model=self._model_label(),
                object_ids=[unquote(object_id)],
                view="history",
                request=request,
            )
        return response


class ReadLoggedAdmin(ReadLoggedMixin, admin.ModelAdmin):
    """The back-office page of a model that holds personal data (tests/core/test_admin_reads.py)."""


# --- Records only services write -----------------------------------------------------------------------


class ViewOnlyAdmin(ReadLoggedAdmin):
    """Staff see and may delete (a rights request may ask it); the product's services create and change."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- Outbox --------------------------------------------------------------------------------------------


class _InlineStyles(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sources: set[str] = set()
        self._style_element: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.sources.update(value for name, value in attrs if name == "style" and value)
        if tag == "style":
            self._style_element = []

    def handle_data(self, data):
        if self._style_element is not None:
            self._style_element.append(data)

    def handle_endtag(self, tag):
        if tag == "style" and self._style_element is not None:
            self.sources.add("".join(self._style_element))
            self._style_element = None


def email_preview_csp(html: str) -> str:
    """A policy for showing an email's HTML: sandboxed, no script, nothing fetched, and only the
    email's own inline styles, allowed one by one by their hash (never 'unsafe-inline')."""
    parser = _InlineStyles()
    parser.feed(html)
    parser.close()
    hashes = sorted(
        f"'sha256-{base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()}'"
        for source in parser.sources
    )
    styles = " ".join(["'unsafe-hashes'", *hashes]) if hashes else "'none'"
    return (
        "sandbox; default-src 'none'; script-src 'none'; img-src data:; "
        f"style-src {styles}; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
    )


SEALED = _("Sealed: it carries a credential; readable without it once sent.")


class OutboxAttachmentInline(admin.TabularInline):
    model = OutboxAttachment
    fields = ["filename", "content_type", "size", "download"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(size_bytes=Length("content")).defer("content")

    @admin.display(description=_("size"))
    def size(self, attachment):
        return filesizeformat(attachment.size_bytes)

    @admin.display(description=_("file"))
    def download(self, attachment):
        if attachment.message.confidential:
            return SEALED
        url = reverse(
            "admin:core_outboxmessage_attachment",
            args=[attachment.message_id, attachment.pk],
            current_app=self.admin_site.name,
        )
        return format_html('<a href="{}" download>{}</a>', url, _("Download"))

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("core.view_outboxmessage") or request.user.has_perm(
            "core.change_outboxmessage"
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadLoggedAdmin):
    """Staff read every email and its delivery state; they can only ask for another attempt."""

    list_display = [
        "subject",
        "recipient",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "error_summary",
        "created_at",
    ]
    list_filter = ["status", "kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["recipient", "subject", "=message_id"]
    ordering = ["-created_at"]
    fieldsets = [
        (None, {"fields": ["status", "kind", "recipient", "to", "from_email", "subject", "created_at"]}),
        (
            _("Delivery"),
            {"fields": ["attempts", "next_attempt_at", "claimed_at", "sent_at", "last_error", "message_id"]},
        ),
        (_("Message"), {"fields": ["headers", "body", "html_preview"]}),
    ]
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]
    inlines = [OutboxAttachmentInline]
    actions = ["retry_now"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body_text", "body_html")

    @admin.display(description=_("last error"))
    def error_summary(self, message):
        return message.last_error[:80]

    @admin.display(description=_("text"))
    def body(self, message):
        # A sealed body holds credentials until it is sent, then is kept without them: never shown sealed.
        if message.confidential:
            return SEALED
        return message.body_text

    @admin.display(description=_("HTML version"))
    def html_preview(self, message):
        if message.confidential:
            return SEALED
        if not message.body_html:
            return "-"
        url = reverse("admin:core_outboxmessage_html", args=[message.pk], current_app=self.admin_site.name)
        # Scripts, forms, plugins and navigation are off in the frame, and the page itself forbids them.
        return format_html(
            '<iframe sandbox="" src="{}" title="{}" width="800" height="600"'
            ' referrerpolicy="no-referrer"></iframe>',
            url,
            _("HTML version of the email"),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/html/", view(self.html_view), name="core_outboxmessage_html"),
            path(
                "<path:object_id>/attachments/<int:attachment_id>/",
                view(self.attachment_view),
                name="core_outboxmessage_attachment",
            ),
            *super().get_urls(),
        ]

    def _get_viewable(self, request, object_id) -> OutboxMessage:
        if not self.has_view_permission(request):
            raise PermissionDenied
        message = self.get_object(request, unquote(object_id))
        if message is None or message.confidential:
            raise Http404
        return message

    def html_view(self, request, object_id):
        """The email's HTML, for the sandboxed frame of the change page only."""
        message = self._get_viewable(request, object_id)
        response = HttpResponse(message.body_html, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = email_preview_csp(message.body_html)
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response

    def attachment_view(self, request, object_id, attachment_id):
        message = self._get_viewable(request, object_id)
        attachment = message.attachments.filter(pk=attachment_id).first()
        if attachment is None:
            raise Http404
        response = HttpResponse(bytes(attachment.content), content_type="application/octet-stream")
        response["Content-Disposition"] = content_disposition_header(True, attachment.filename)
        return response

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        with transaction.atomic():
            retried = outbox_retry(message_ids=list(queryset.values_list("pk", flat=True)))
            for message in OutboxMessage.objects.filter(pk__in=retried).only("pk", "subject", "recipient"):
                self.log_change(request, message, [{"changed": {"fields": ["status"]}}])
        if retried:
            self.message_user(
                request,
                ngettext(
                    "%(count)d email will be sent again now.",
                    "%(count)d emails will be sent again now.",
                    len(retried),
                )
                % {"count": len(retried)},
                messages.SUCCESS,
            )
        skipped = queryset.count() - len(retried)
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d email was left alone: it was already sent, is being sent or is held.",
                    "%(count)d emails were left alone: they were already sent, are being sent or are held.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    def has_retry_permission(self, request):
        return request.user.has_perm("core.change_outboxmessage")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # bodies and recipients are what was asked for; the only action is "retry now"

    def has_delete_permission(self, request, obj=None):
        return False  # retention (tessera.privacy) deletes; nothing asked for is dropped by hand


# --- Security log --------------------------------------------------------------------------------------


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadLoggedAdmin):
    """The security log is read-only for everyone, superusers included."""

    list_display = ["seq", "created_at", "action", "email", "ip", "actor_id", "shredded_at"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["action", "email"]
    fields = [
        "seq",
        "created_at",
        "action",
        "actor_id",
        "email",
        "ip",
        "user_agent",
        "data",
        "shredded_at",
        "prev_hash",
        "hash",
    ]
    readonly_fields = fields
    show_full_result_count = False
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

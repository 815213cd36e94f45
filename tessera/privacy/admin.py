"""The DPO console: rights requests with their legal deadlines, the incident register, the ledgers."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from tessera.core.admin import ReadLoggedAdmin, ViewOnlyAdmin
from tessera.core.audit import security_event_record

from . import dpo, services
from .models import (
    ConsentRecord,
    InactivityWarning,
    Incident,
    PolicyVersion,
    PostMortemDirective,
    ProcessingLimit,
    RetentionRun,
    RightsRequest,
)
from .policy import RESTRICTION_EFFECTS

# What the DPO enters about a request, in the order of the form and of the change page.
REQUEST_FIELDS = (
    "kind",
    "channel",
    "email",
    "requester_name",
    "postal_address",
    "details",
    "identity_verified",
    "received_at",
)


class RightsRequestForm(forms.ModelForm):
    extend_with_reason = forms.CharField(
        label=_("Extend the deadline by two months, because"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("GDPR Art. 12(3): only for complex or numerous requests; the person is told why."),
    )

    class Meta:
        model = RightsRequest
        fields = [*REQUEST_FIELDS, "status", "answer"]

    def clean(self):
        data = super().clean()
        if data.get("extend_with_reason") and self.instance.pk:
            refusal = services.rights_extension_refusal(record=self.instance)
            if refusal:
                raise forms.ValidationError(refusal)
        return data


def _days_left(record) -> str:
    if not record.is_open:
        return "—"
    delta = record.due_at - timezone.now()
    if delta.total_seconds() < 0:
        return gettext("overdue")
    return pgettext("days left, abbreviated", "%(days)d d") % {"days": delta.days}


@admin.register(RightsRequest)
class RightsRequestAdmin(ReadLoggedAdmin):
    form = RightsRequestForm
    list_display = (
        "reference",
        "kind",
        "status",
        "channel",
        "received_at",
        "due_at",
        "days_left",
        "letter_link",
    )
    list_filter = ("status", "kind", "channel")
    search_fields = ("reference", "email", "requester_name")
    ordering = ("due_at",)
    readonly_fields = (
        "reference",
        "due_at",
        "extended_at",
        "extension_reason",
        "closed_at",
        "outcome",
        "requester_email",
    )
    actions = [
        "carry_out_export",
        "carry_out_erasure",
        "carry_out_restriction",
        "uphold_objection",
        "carry_out_directive",
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # kept to prove the answer (legal retention); the retention job deletes them

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            record = self.get_object(request, object_id)
            if record is not None and self.has_view_or_change_permission(request, record):
                # Opening a request shows the person's data: that access is logged.
                security_event_record(
                    action="privacy.request_viewed", actor=request.user, data={"reference": record.reference}
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def _carry_out(self, request, queryset, carry_out) -> int:
        count = 0
        for record in queryset.order_by("due_at"):
            try:
                carry_out(record)
            except services.RightsRequestError as error:
                self.message_user(request, str(error), messages.ERROR)
                continue
            count += 1
        return count

    def _done(self, request, message: str, count: int) -> None:
        if count:
            self.message_user(request, message % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Carry out: access export (download the ZIP)"), permissions=["carry_out"])
    def carry_out_export(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, gettext("Select exactly one access request."), messages.ERROR)
            return None
        record = queryset.get()
        try:
            archive = services.rights_request_export(
                record=record,
                language=services.requester_language(record.email, record=record),
                actor=request.user,
                request=request,
                answer=gettext("Your data was sent to you."),
            )
        except services.RightsRequestError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None
        response = HttpResponse(archive, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{record.reference}-personal-data.zip"'
        return response

    @admin.action(description=_("Carry out: erasure"), permissions=["carry_out"])
    def carry_out_erasure(self, request, queryset):
        count = self._carry_out(
            request,
            queryset,
            lambda record: services.rights_request_erase(
                record=record,
                actor=request.user,
                language=services.requester_language(record.email, record=record),
            ),
        )
        message = ngettext(
            "Erasure carried out for %(count)d request; its letter lists what was kept.",
            "Erasure carried out for %(count)d requests; their letters list what was kept.",
            count,
        )
        self._done(request, message, count)

    @admin.action(description=_("Carry out: restriction"), permissions=["carry_out"])
    def carry_out_restriction(self, request, queryset):
        count = self._carry_out(
            request,
            queryset,
            lambda record: services.rights_request_restrict(
                record=record, actor=request.user, answer=gettext("The restriction is in force.")
            ),
        )
        message = ngettext(
            "Restriction in force for %(count)d request.",
            "Restriction in force for %(count)d requests.",
            count,
        )
        self._done(request, message, count)

    @admin.action(
        description=_("Uphold the objection to legitimate-interest processing"), permissions=["carry_out"]
    )
    def uphold_objection(self, request, queryset):
        count = self._carry_out(
            request,
            queryset,
            lambda record: services.rights_request_uphold_objection(record=record, actor=request.user),
        )
        message = ngettext(
            "Objection upheld for %(count)d request: its security-log entries are erased.",
            "Objection upheld for %(count)d requests: their security-log entries are erased.",
            count,
        )
        self._done(request, message, count)

    def has_carry_out_permission(self, request):
        # Acting on a person's data is more than editing the request's record: its own permission.
        return request.user.has_perm("privacy.carry_out_rightsrequest")

    def has_carry_out_directive_permission(self, request):
        return request.user.has_perm("privacy.carry_out_directive")

    @admin.action(
        description=_("Death notice verified: carry out the directive"), permissions=["carry_out_directive"]
    )
    def carry_out_directive(self, request, queryset):
        def carry_out(record):
            services.directive_carry_out(record=record, actor=request.user)
            # In the back-office history too, next to the security log entry the service writes.
            self.log_change(request, record, [{"changed": {"fields": ["status", "outcome"]}}])

        count = self._carry_out(request, queryset, carry_out)
        message = ngettext(
            "Directive carried out for %(count)d death notice; the person named was told.",
            "Directives carried out for %(count)d death notices; the people named were told.",
            count,
        )
        self._done(request, message, count)

    @admin.display(description=_("time left"))
    def days_left(self, obj):
        return _days_left(obj)

    @admin.display(description=_("answer letter"))
    def letter_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:privacy_rightsrequest_letter", args=[obj.pk]),
            gettext("letter"),
        )

    def get_fieldsets(self, request, obj=None):
        main = list(REQUEST_FIELDS)
        if obj is None:
            return [(None, {"fields": main})]
        presented = ["requester_email"] if obj.requester_email else []  # a death notice: who presented it
        return [
            (None, {"fields": ["reference", *main, *presented]}),
            (_("Answer"), {"fields": ["status", "answer", "outcome", "closed_at"]}),
            (_("Deadline"), {"fields": ["due_at", "extended_at", "extension_reason", "extend_with_reason"]}),
        ]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            created = services.rights_request_create(
                email=data["email"],
                kind=data["kind"],
                channel=data["channel"],
                details=data.get("details", ""),
                requester_name=data.get("requester_name", ""),
                postal_address=data.get("postal_address", ""),
                identity_verified=data.get("identity_verified", False),
                received_at=data.get("received_at") or timezone.now(),
                actor=request.user,
            )
            obj.pk, obj.reference, obj.due_at = created.pk, created.reference, created.due_at
            obj._state.adding = False
            return
        services.rights_request_update(
            record=obj, extend_with_reason=data.get("extend_with_reason", ""), actor=request.user
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/letter/",
                self.admin_site.admin_view(self.letter_view),
                name="privacy_rightsrequest_letter",
            ),
            *super().get_urls(),
        ]

    def letter_view(self, request, pk):
        # The letter shows the requester's postal address and what was done: as much as the change page.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        record = get_object_or_404(RightsRequest, pk=pk)
        security_event_record(
            action="privacy.letter_generated", actor=request.user, data={"reference": record.reference}
        )
        outcome = record.outcome or {}
        return TemplateResponse(
            request,
            "privacy/letter.html",
            {
                "record": record,
                "outcome": outcome,
                "outcomes": outcome.get("outcomes", []),
                "sections": sorted(outcome.get("sections", {}).items()),
                "restriction_effects": RESTRICTION_EFFECTS,
                "today": timezone.now(),
            },
        )


class IncidentForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = [
            "title",
            "nature",
            "detected_at",
            "occurred_at",
            "people_categories",
            "people_count",
            "record_categories",
            "record_count",
            "consequences",
            "measures",
            "high_risk",
            "affected_emails",
            "people_message",
            "authority_notified_at",
            "authority_delay_reason",
            "closed_at",
        ]


@admin.register(Incident)
class IncidentAdmin(ReadLoggedAdmin):
    form = IncidentForm
    list_display = (
        "title",
        "detected_at",
        "authority_deadline_display",
        "authority_notified_at",
        "high_risk",
        "people_notified_at",
        "draft_link",
    )
    list_filter = ("high_risk",)
    readonly_fields = ("authority_deadline_display", "people_notified_at", "people_notified_count")
    actions = ["notify_people"]

    def has_delete_permission(self, request, obj=None):
        return False  # the register must document every breach (Art. 33(5)); kept 5 years after closure

    @admin.display(description=_("72-hour deadline to notify the authority"))
    def authority_deadline_display(self, obj):
        if obj.pk is None:
            return "—"
        deadline = obj.authority_deadline
        values = {"deadline": f"{deadline:%Y-%m-%d %H:%M}"}
        if obj.authority_notified_at:
            if obj.authority_notified_at > deadline:
                return gettext("%(deadline)s — notified late") % values
            return gettext("%(deadline)s — notified in time") % values
        hours = (deadline - timezone.now()).total_seconds() / 3600
        if hours < 0:
            return gettext("%(deadline)s — overdue") % values
        return ngettext(
            "%(deadline)s — %(hours)d hour left", "%(deadline)s — %(hours)d hours left", int(hours)
        ) % {**values, "hours": hours}

    @admin.display(description=_("draft notification"))
    def draft_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:privacy_incident_draft", args=[obj.pk]), gettext("draft")
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/draft/", self.admin_site.admin_view(self.draft_view), name="privacy_incident_draft"
            ),
            *super().get_urls(),
        ]

    def draft_view(self, request, pk):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        incident = get_object_or_404(Incident, pk=pk)
        security_event_record(
            action="privacy.incident_draft", actor=request.user, data={"incident": incident.pk}
        )
        return TemplateResponse(request, "privacy/incident_draft.html", {"incident": incident})

    def save_model(self, request, obj, form, change):
        dpo.incident_save(incident=obj, actor=request.user)

    @admin.action(description=_("Notify the people concerned by email"), permissions=["change"])
    def notify_people(self, request, queryset):
        total = sum(dpo.incident_notify_people(incident=i, actor=request.user) for i in queryset)
        self.message_user(
            request,
            ngettext("%(count)d email queued.", "%(count)d emails queued.", total) % {"count": total},
            messages.SUCCESS,
        )


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ViewOnlyAdmin):
    list_display = ("purpose", "answer", "text_version", "method", "given_at", "withdrawn_at")
    list_filter = ("purpose", "answer", "method")
    search_fields = ("email",)


@admin.register(ProcessingLimit)
class ProcessingLimitAdmin(ViewOnlyAdmin):
    list_display = ("kind", "email", "created_at", "lifted_at")
    list_filter = ("kind",)
    search_fields = ("email",)


@admin.register(PostMortemDirective)
class PostMortemDirectiveAdmin(ViewOnlyAdmin):
    list_display = ("email", "instruction", "trusted_person_name", "created_at", "revoked_at")
    search_fields = ("email",)


@admin.register(InactivityWarning)
class InactivityWarningAdmin(ViewOnlyAdmin):
    list_display = ("user", "warned_at")
    search_fields = ("=user__email",)
    list_select_related = ("user",)
    date_hierarchy = "warned_at"


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ViewOnlyAdmin):
    list_display = ("number", "published_at", "substantial", "notified_at")


@admin.register(RetentionRun)
class RetentionRunAdmin(ViewOnlyAdmin):
    list_display = ("activity", "last_run_at", "last_count", "total_count")

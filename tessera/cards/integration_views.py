"""The organisation's integrations page: API keys and lead webhooks, for its owners and admins.

A key or a signing secret is shown once, in the answer to the request that created it, and never again:
the database keeps a hash of the key, and the page never puts a secret in a URL or a message cookie.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tessera.accounts.api_keys import api_key_create, api_key_revoke
from tessera.accounts.models import OrganisationApiKey
from tessera.core.audit import security_event_record

from . import services
from .forms import ApiKeyForm, WebhookForm
from .models import CardsSettings, LeadWebhook, WebhookDelivery
from .views import _administered, _messages_of

RECENT_DELIVERIES = 20


@login_required
@never_cache
def org_integrations(request, org_slug):
    organisation = _administered(request, org_slug)
    key_form, hook_form = ApiKeyForm(prefix="key"), WebhookForm(prefix="hook")
    shown: dict = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "key_create":
            key_form = ApiKeyForm(request.POST, prefix="key")
            if key_form.is_valid():
                record, shown["key"] = api_key_create(
                    organisation=organisation, name=key_form.cleaned_data["name"]
                )
                shown["key_name"] = record.name
                _log(request, "api_key.created", organisation, key=record.prefix)
                key_form = ApiKeyForm(prefix="key")
            else:
                status = 400
        elif action == "key_revoke":
            record = get_object_or_404(
                OrganisationApiKey, organisation=organisation, pk=_int(request.POST.get("key"))
            )
            if record.revoked_at is None:
                api_key_revoke(api_key=record)
                _log(request, "api_key.revoked", organisation, key=record.prefix)
            messages.success(request, _("The key %(name)s no longer works.") % {"name": record.name})
            return redirect("cards:org_integrations", org_slug=org_slug)
        elif action == "hook_create":
            hook_form = WebhookForm(request.POST, prefix="hook")
            if hook_form.is_valid() and _leads_shared(organisation):
                try:
                    hook = services.webhook_create(
                        organisation=organisation, url=hook_form.cleaned_data["url"]
                    )
                except ValidationError as error:
                    for message in _messages_of(error):
                        hook_form.add_error("url", message)
                    status = 400
                else:
                    shown["secret"], shown["hook_url"] = hook.secret, hook.url
                    _log(request, "webhook.created", organisation, webhook=hook.pk)
                    hook_form = WebhookForm(prefix="hook")
            else:
                if not _leads_shared(organisation):
                    hook_form.add_error(
                        None, _("Webhooks carry leads: first let admins see the members' leads.")
                    )
                status = 400
        elif action in {"hook_ping", "hook_pause", "hook_resume", "hook_delete"}:
            hook = get_object_or_404(
                LeadWebhook, organisation=organisation, pk=_int(request.POST.get("hook"))
            )
            if action == "hook_ping":
                services.webhook_ping(webhook=hook)
                messages.success(request, _("A test delivery is on its way; its result appears below."))
            elif action == "hook_delete":
                services.webhook_delete(webhook=hook)
                _log(request, "webhook.deleted", organisation, webhook=hook.pk)
                messages.success(request, _("The webhook was deleted."))
            else:
                services.webhook_active_set(webhook=hook, active=action == "hook_resume")
                _log(
                    request,
                    f"webhook.{'resumed' if hook.is_active else 'paused'}",
                    organisation,
                    webhook=hook.pk,
                )
            return redirect("cards:org_integrations", org_slug=org_slug)
        else:
            status = 400
    return render(
        request,
        "cards/org_integrations.html",
        {
            "organisation": organisation,
            "keys": OrganisationApiKey.objects.filter(organisation=organisation).order_by("-created_at"),
            "hooks": LeadWebhook.objects.filter(organisation=organisation).order_by("created_at"),
            "deliveries": WebhookDelivery.objects.filter(webhook__organisation=organisation)
            .select_related("webhook")
            .order_by("-created_at")[:RECENT_DELIVERIES],
            "leads_shared": _leads_shared(organisation),
            "key_form": key_form,
            "hook_form": hook_form,
            "shown": shown,
            "api_base": request.build_absolute_uri("/api/v1/"),
        },
        status=status,
    )


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _leads_shared(organisation) -> bool:
    return CardsSettings.objects.filter(organisation=organisation, admins_see_leads=True).exists()


def _log(request, action: str, organisation, **data) -> None:
    security_event_record(
        action=f"cards.{action}",
        actor=request.user,
        request=request,
        data={"organisation": organisation.pk, **data},
    )

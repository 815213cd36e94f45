"""The organisation's integrations page: API keys and lead webhooks, for its owners and admins.

A key or a signing secret is shown once, in the answer to the request that created it, and never again:
the database keeps a hash of the key, and the page never puts a secret in a URL or a message cookie.

Each button posts an `action`; each action is a form, one service call (which writes the security log
entry), then the page or a redirect to it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tessera.accounts.models import OrganisationApiKey
from tessera.accounts.services import api_key_create, api_key_revoke

from .. import services
from ..forms.organisation import ApiKeyChoiceForm, ApiKeyForm, WebhookChoiceForm, WebhookForm
from ..models import LeadWebhook
from ..selectors import integrations_of
from .access import administered

RECENT_DELIVERIES = 20


@login_required
@never_cache
def org_integrations(request, org_slug):
    organisation = administered(request, org_slug)
    if request.method != "POST":
        return _page(request, organisation)
    action = _ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        return _page(request, organisation, status=400)
    return action(request, organisation)


def _key_create(request, organisation):
    form = ApiKeyForm(request.POST, prefix="key")
    if not form.is_valid():
        return _page(request, organisation, key_form=form, status=400)
    record, key = api_key_create(
        organisation=organisation, name=form.cleaned_data["name"], actor=request.user, request=request
    )
    return _page(request, organisation, shown={"key": key, "key_name": record.name})


def _key_revoke(request, organisation):
    record = get_object_or_404(
        OrganisationApiKey, organisation=organisation, pk=_chosen(request, ApiKeyChoiceForm, "key")
    )
    api_key_revoke(api_key=record, actor=request.user, request=request)
    messages.success(request, _("The key %(name)s no longer works.") % {"name": record.name})
    return redirect("cards:org_integrations", org_slug=organisation.slug)


def _hook_create(request, organisation):
    form = WebhookForm(request.POST, prefix="hook")
    if form.is_valid():
        try:
            hook = services.webhook_create(
                organisation=organisation, url=form.cleaned_data["url"], actor=request.user, request=request
            )
        except ValidationError as error:
            form.add_error(None, error)  # the address's own error under it, the sharing rule above
        else:
            return _page(request, organisation, shown={"secret": hook.secret, "hook_url": hook.url})
    return _page(request, organisation, hook_form=form, status=400)


def _hook(request, organisation) -> LeadWebhook:
    return get_object_or_404(
        LeadWebhook, organisation=organisation, pk=_chosen(request, WebhookChoiceForm, "hook")
    )


def _hook_ping(request, organisation):
    services.webhook_ping(webhook=_hook(request, organisation), actor=request.user, request=request)
    messages.success(request, _("A test delivery is on its way; its result appears below."))
    return redirect("cards:org_integrations", org_slug=organisation.slug)


def _hook_active_set(active: bool):
    def hook_active_set(request, organisation):
        services.webhook_active_set(
            webhook=_hook(request, organisation), active=active, actor=request.user, request=request
        )
        return redirect("cards:org_integrations", org_slug=organisation.slug)

    return hook_active_set


def _hook_delete(request, organisation):
    services.webhook_delete(webhook=_hook(request, organisation), actor=request.user, request=request)
    messages.success(request, _("The webhook was deleted."))
    return redirect("cards:org_integrations", org_slug=organisation.slug)


_ACTIONS = {
    "key_create": _key_create,
    "key_revoke": _key_revoke,
    "hook_create": _hook_create,
    "hook_ping": _hook_ping,
    "hook_pause": _hook_active_set(False),
    "hook_resume": _hook_active_set(True),
    "hook_delete": _hook_delete,
}


def _chosen(request, form_class, field: str) -> int:
    """The record number a button posted; anything else is a bad request (400), never record 0."""
    form = form_class(request.POST)
    if not form.is_valid():
        raise BadRequest("the button posted no valid record number")
    return form.cleaned_data[field]


def _page(request, organisation, *, key_form=None, hook_form=None, shown=None, status=200):
    return render(
        request,
        "cards/org_integrations.html",
        {
            "organisation": organisation,
            **integrations_of(organisation=organisation, deliveries=RECENT_DELIVERIES),
            "key_form": key_form or ApiKeyForm(prefix="key"),
            "hook_form": hook_form or WebhookForm(prefix="hook"),
            "shown": shown or {},
            "api_base": request.build_absolute_uri("/api/v1/"),
        },
        status=status,
    )

"""The integration page itself, a dry run's plan, and the JSON status its progress bar polls."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import selectors
from ..forms import ConnectionSettingsForm, GroupCreateForm, GroupMappingForm
from ..models import Provider, SyncRun
from .access import administered


@login_required
@never_cache
@require_GET
def integration(request, org_slug):
    return page_render(request, administered(request, org_slug))


@login_required
@never_cache
@require_GET
def run_status(request, org_slug, run_id):
    run = get_object_or_404(selectors.runs_of(organisation=administered(request, org_slug)), pk=run_id)
    return JsonResponse(selectors.run_progress(run=run))


@login_required
@never_cache
@require_GET
def dry_run(request, org_slug, run_id):
    organisation = administered(request, org_slug)
    run = get_object_or_404(
        selectors.runs_of(organisation=organisation), pk=run_id, kind=SyncRun.Kind.DRY_RUN
    )
    return render(
        request,
        "directory/dry_run.html",
        {
            "organisation": organisation,
            "run": run,
            "connection": run.connection,
            "progress": selectors.run_progress(run=run),
            "sections": selectors.plan_of(run=run),
            **selectors.problems_of(run=run),
            "confirmable": selectors.dry_run_open(run=run),
        },
    )


def page_render(
    request, organisation, *, settings_form=None, groups_form=None, create_form=None, shown=None, status=200
):
    """The whole page; a write view whose form failed renders it with that form and its errors."""
    google = selectors.connection_live(organisation=organisation, provider=Provider.GOOGLE)
    microsoft = selectors.connection_live(organisation=organisation, provider=Provider.MICROSOFT)
    groups = list(selectors.groups_of(organisation=organisation)) if microsoft else []
    if microsoft and settings_form is None:
        settings_form = ConnectionSettingsForm(connection=microsoft, groups=groups)
    templates = selectors.templates_offered(organisation=organisation) if microsoft else []
    if microsoft and groups_form is None:
        groups_form = GroupMappingForm(groups=groups, templates=templates)
    if microsoft and create_form is None:
        create_form = GroupCreateForm(templates=templates)
    response = render(
        request,
        "directory/integration.html",
        {
            "organisation": organisation,
            "google": google,
            "microsoft": microsoft,
            "sync": selectors.sync_state_of(connection=microsoft),
            "settings_form": settings_form,
            "groups_form": groups_form,
            "create_form": create_form,
            "writebacks": selectors.writebacks_of(connection=microsoft),
            "writebacks_stuck": microsoft and selectors.writebacks_stuck(connection=microsoft).exists(),
            "scim_token": selectors.scim_token_of(organisation=organisation),
            "scim_url": request.build_absolute_uri("/scim/v2/"),
            "shown": shown or {},
        },
        status=status,
    )
    # Chromium applies form-action to the redirect after a form: the connect buttons lead to the providers.
    response._csp_update = {"form-action": _provider_origins()}
    return response


def _provider_origins() -> list[str]:
    config = settings.DIRECTORY
    urls = (config["GOOGLE_AUTHORIZE_URL"], config["MICROSOFT_AUTHORITY_HOST"])
    return sorted({"{0.scheme}://{0.netloc}".format(urlsplit(url)) for url in urls if url})

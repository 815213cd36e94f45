"""The Entra ID card's writes: its settings, the group mappings, the dry run, its confirmation, sync now.

Each is a POST: a form or the connection, one service call, then a redirect to the page (or the page
again with the form's errors).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors
from ..forms import ConnectionSettingsForm, GroupMappingForm
from ..models import Provider, SyncRun
from ..providers import DirectoryError
from ..services.settings import connection_settings_update, group_mappings_update
from ..services.sync import sync_confirm, sync_dry_run, sync_request
from .access import administered, back
from .page import page_render


def _connected(request, org_slug):
    organisation = administered(request, org_slug)
    connection = selectors.connection_live(organisation=organisation, provider=Provider.MICROSOFT)
    if connection is None:
        raise Http404  # nothing to act on: connect first
    return organisation, connection


def _refused(request, organisation, error: Exception):
    """A service refused (a typed provider failure, or a check): its message on the page, nothing applied."""
    if isinstance(error, DirectoryError):
        messages.error(request, error.message)
    else:
        for message in error.messages:
            messages.error(request, message)
    return back(organisation, "microsoft")


@login_required
@require_POST
def settings_save(request, org_slug):
    organisation, connection = _connected(request, org_slug)
    groups = selectors.groups_of(organisation=organisation)
    form = ConnectionSettingsForm(request.POST, connection=connection, groups=groups)
    if not form.is_valid():
        return page_render(request, organisation, settings_form=form, status=400)
    try:
        rescoped = connection_settings_update(
            connection=connection,
            scope=form.cleaned_data["scope"],
            scope_groups=form.cleaned_data["scope_groups"],
            scope_domains=form.cleaned_data["scope_domains"],
            attribute_map=form.cleaned_data["attribute_map"],
            sync_enabled=form.cleaned_data["sync_enabled"],
            actor=request.user,
            request=request,
        )
    except ValidationError as error:
        return _refused(request, organisation, error)
    if rescoped:
        messages.warning(
            request,
            _(
                "The settings are saved. Who gets a card changed: run a dry run and confirm it before the next sync."
            ),
        )
    else:
        messages.success(request, _("The settings are saved."))
    return back(organisation, "microsoft-settings")


@login_required
@require_POST
def groups_save(request, org_slug):
    organisation, _connection = _connected(request, org_slug)
    form = GroupMappingForm(
        request.POST,
        groups=selectors.groups_of(organisation=organisation),
        templates=selectors.templates_offered(organisation=organisation),
    )
    if not form.is_valid():
        return page_render(request, organisation, groups_form=form, status=400)
    try:
        changed = group_mappings_update(
            organisation=organisation, mappings=form.mappings(), actor=request.user, request=request
        )
    except ValidationError as error:
        return _refused(request, organisation, error)
    messages.success(
        request,
        _("The groups are saved; their members were updated.") if changed else _("Nothing changed."),
    )
    return back(organisation, "microsoft-groups")


@login_required
@require_POST
def dry_run_start(request, org_slug):
    organisation, connection = _connected(request, org_slug)
    try:
        run = sync_dry_run(connection=connection, actor=request.user)
    except (DirectoryError, ValidationError) as error:
        return _refused(request, organisation, error)
    if run.kind != SyncRun.Kind.DRY_RUN:  # a sync already running is answered instead of a new run
        messages.warning(request, _("A sync is running: start the dry run once it has finished."))
        return back(organisation, "microsoft-sync")
    return redirect("directory:dry_run", org_slug=organisation.slug, run_id=run.pk)


@login_required
@require_POST
def dry_run_confirm(request, org_slug, run_id):
    organisation, connection = _connected(request, org_slug)
    run = get_object_or_404(
        selectors.runs_of(organisation=organisation),
        pk=run_id,
        connection=connection,
        kind=SyncRun.Kind.DRY_RUN,
        status=SyncRun.Status.PLANNED,
    )
    try:
        sync_confirm(run=run, actor=request.user)
    except (DirectoryError, ValidationError) as error:
        return _refused(request, organisation, error)
    messages.success(request, _("Confirmed: the sync has started. This page follows its progress."))
    return back(organisation, "microsoft-sync")


@login_required
@require_POST
def sync_now(request, org_slug):
    organisation, connection = _connected(request, org_slug)
    if connection.confirmed_at is None:
        messages.error(request, _("Run a dry run and confirm it first: nothing is applied before that."))
        return back(organisation, "microsoft-sync")
    try:
        sync_request(connection=connection, actor=request.user, kind=SyncRun.Kind.DELTA)
    except (DirectoryError, ValidationError) as error:
        return _refused(request, organisation, error)
    messages.success(request, _("The sync has started. This page follows its progress."))
    return back(organisation, "microsoft-sync")

"""Entra ID groups changed from here: create, rename, add or remove a member, and retry stuck writes.

Each change is queued for write-back to Graph (POST /groups, PATCH /groups/{id}, members/$ref) and comes
back here with the next sync; the page says so instead of pretending the change is already made.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .. import selectors
from ..forms import GroupCreateForm, GroupRenameForm, MemberChoiceForm
from ..models import Provider
from ..services.writeback import (
    group_create,
    group_member_add,
    group_member_remove,
    group_rename,
    writeback_retry,
)
from .access import administered, back
from .page import page_render


def _connected(request, org_slug):
    organisation = administered(request, org_slug)
    connection = selectors.connection_live(organisation=organisation, provider=Provider.MICROSOFT)
    if connection is None:
        raise Http404
    return organisation, connection


def _group(request, org_slug, group_id):
    organisation, _connection = _connected(request, org_slug)
    return organisation, get_object_or_404(selectors.groups_of(organisation=organisation), pk=group_id)


def _refused(request, error: Exception) -> None:
    for message in getattr(error, "messages", None) or [str(error)]:
        messages.error(request, message)


def _queued(request) -> None:
    messages.success(request, _("Sent to Entra ID: the change shows here after the next sync."))


@login_required
@require_POST
def create(request, org_slug):
    organisation, connection = _connected(request, org_slug)
    form = GroupCreateForm(request.POST, templates=selectors.templates_offered(organisation=organisation))
    if not form.is_valid():
        return page_render(request, organisation, create_form=form, status=400)
    try:
        group_create(
            connection=connection,
            display_name=form.cleaned_data["display_name"],
            template=form.cleaned_data["template"] or None,
            role=form.cleaned_data["role"],
            actor=request.user,
        )
    except (ValidationError, PermissionDenied) as error:
        _refused(request, error)
    else:
        _queued(request)
    return back(organisation, "microsoft-groups")


@login_required
@never_cache
@require_GET
def detail(request, org_slug, group_id):
    organisation, group = _group(request, org_slug, group_id)
    return _detail(request, organisation, group)


def _detail(request, organisation, group, *, rename_form=None, add_form=None, status=200):
    candidates = selectors.group_candidates(group=group)
    return render(
        request,
        "directory/group.html",
        {
            "organisation": organisation,
            "group": group,
            "members": selectors.group_members(group=group),
            "rename_form": rename_form or GroupRenameForm(initial={"display_name": group.display_name}),
            "add_form": add_form or MemberChoiceForm(candidates=candidates),
            "has_candidates": bool(candidates),
        },
        status=status,
    )


@login_required
@require_POST
def rename(request, org_slug, group_id):
    organisation, group = _group(request, org_slug, group_id)
    form = GroupRenameForm(request.POST)
    if not form.is_valid():
        return _detail(request, organisation, group, rename_form=form, status=400)
    try:
        group_rename(group=group, display_name=form.cleaned_data["display_name"], actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        _refused(request, error)
    else:
        _queued(request)
    return _back_to_group(organisation, group)


@login_required
@require_POST
def member_add(request, org_slug, group_id):
    organisation, group = _group(request, org_slug, group_id)
    candidates = selectors.group_candidates(group=group)
    form = MemberChoiceForm(request.POST, candidates=candidates)
    if not form.is_valid():
        return _detail(request, organisation, group, add_form=form, status=400)
    person = next(p for p in candidates if str(p.pk) == form.cleaned_data["member"])
    try:
        group_member_add(group=group, external_user=person, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        _refused(request, error)
    else:
        _queued(request)
    return _back_to_group(organisation, group)


@login_required
@require_POST
def member_remove(request, org_slug, group_id, member_id):
    organisation, group = _group(request, org_slug, group_id)
    person = next((p for p in selectors.group_members(group=group) if p.pk == member_id), None)
    if person is None:
        raise Http404
    try:
        group_member_remove(group=group, external_user=person, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        _refused(request, error)
    else:
        _queued(request)
    return _back_to_group(organisation, group)


@login_required
@require_POST
def writebacks_retry(request, org_slug):
    organisation, connection = _connected(request, org_slug)
    retried = writeback_retry(
        writebacks=selectors.writebacks_stuck(connection=connection), actor=request.user
    )
    messages.success(
        request,
        ngettext(
            "%(count)s change is being sent again.", "%(count)s changes are being sent again.", len(retried)
        )
        % {"count": len(retried)},
    )
    return back(organisation, "microsoft-groups")


def _back_to_group(organisation, group):
    return redirect("directory:group", org_slug=organisation.slug, group_id=group.pk)

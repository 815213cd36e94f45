"""The access check every directory view starts with, and the page render the write views fall back to."""

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect

from tessera.accounts import selectors as accounts_selectors
from tessera.accounts.models import Organisation


def administered(request, org_slug) -> Organisation:
    """The organisation of the URL, if the signed-in user administers it; a 404 otherwise."""
    organisation = get_object_or_404(Organisation, slug=org_slug)
    if not accounts_selectors.is_org_admin(user=request.user, organisation=organisation):
        raise Http404  # not 403: the organisation's existence is not disclosed
    return organisation


def back(organisation: Organisation, anchor: str = ""):
    """Back to the integration page, at the card that was acted on."""
    response = redirect("directory:integration", org_slug=organisation.slug)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response

"""Access checks and the frame that shows a signature as a mail client would, shared by the views."""

from urllib.parse import urlsplit

from csp.constants import NONE, SELF
from csp.decorators import csp_replace
from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from tessera.accounts import selectors as accounts_selectors
from tessera.accounts.models import Organisation


def administered(request, org_slug) -> Organisation:
    """The organisation of the URL, if the signed-in user administers it; a 404 otherwise."""
    organisation = get_object_or_404(Organisation, slug=org_slug)
    if not accounts_selectors.is_org_admin(user=request.user, organisation=organisation):
        raise Http404  # not 403: the organisation's existence is not disclosed
    return organisation


def membership_of(request, org_slug) -> Organisation:
    """The organisation of the URL, if the signed-in user is one of its members; a 404 otherwise."""
    organisation = get_object_or_404(Organisation, slug=org_slug)
    if accounts_selectors.membership_get(user=request.user, organisation=organisation) is None:
        raise Http404
    return organisation


_BASE = "{0.scheme}://{0.netloc}".format(urlsplit(settings.TESSERA_BASE_URL))
# A signature is styled inline, as in a mail client; nothing in it may run, and only this page may frame it.
FRAME_POLICY = {
    "default-src": [NONE],
    "style-src": ["'unsafe-inline'"],
    "img-src": [SELF, _BASE, "data:"],
    "script-src": [NONE],
    "frame-ancestors": [SELF],
    "form-action": [NONE],
    "base-uri": [NONE],
}


def frame(view):
    """A view whose page is shown in an iframe of Tessera's own pages, with the frame's policy."""
    return xframe_options_sameorigin(csp_replace(FRAME_POLICY)(view))


def frame_render(request, *, signature=None, errors=(), mode="gmail", status=200):
    return render(
        request,
        "signatures/frame.html",
        {"signature": signature, "errors": errors, "mode": mode},
        status=status,
    )

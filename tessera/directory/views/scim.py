"""The SCIM card's writes: create or rotate the endpoint's token (shown once, in this answer), revoke it.

The token is never put in a URL nor a message cookie: the rotation answers with the page itself.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ..services.scim import scim_token_revoke, scim_token_rotate
from .access import administered, back
from .page import page_render


@login_required
@never_cache
@require_POST
def token_rotate(request, org_slug):
    organisation = administered(request, org_slug)
    token = scim_token_rotate(organisation=organisation, actor=request.user)
    return page_render(request, organisation, shown={"scim_token": token})


@login_required
@require_POST
def token_revoke(request, org_slug):
    organisation = administered(request, org_slug)
    scim_token_revoke(organisation=organisation, actor=request.user)
    messages.success(request, _("The SCIM token no longer works."))
    return back(organisation, "scim")

"""Access checks and error display shared by the cards views: the one place a view module borrows from."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404

from tessera.accounts import selectors as accounts_selectors
from tessera.accounts.models import Organisation


def messages_of(error: ValidationError) -> list[str]:
    """Every message of a ValidationError, whether it names fields or not, for the page's message list."""
    if hasattr(error, "error_dict"):
        return [m for ms in error.message_dict.values() for m in ms]
    return error.messages


def administered(request, org_slug) -> Organisation:
    """The organisation of the URL, if the signed-in user administers it; a 404 otherwise."""
    organisation = get_object_or_404(Organisation, slug=org_slug)
    if not accounts_selectors.is_org_admin(user=request.user, organisation=organisation):
        raise Http404  # not 403: the organisation's existence is not disclosed
    return organisation

"""Connect and disconnect Google Workspace and Microsoft Entra ID.

Connecting is a POST (an administrator's button): the connections service keeps the flow's secrets
(state, PKCE verifier, msal's flow) in the server-side session and gives the provider's address. The
provider sends the browser back to one callback address per provider, whatever the organisation: the
`state` it carries names, in this session only, the organisation and the language the flow started from.
"""

from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .. import selectors
from ..models import Provider
from ..providers import DirectoryError, FlowInvalid
from ..services.connections import (
    connection_disconnect,
    google_connect_complete,
    google_connect_url,
    microsoft_connect_complete,
    microsoft_connect_url,
)
from .access import administered, back

# {state: {"org": slug, "language": code}}: where each pending flow of this session returns.
RETURN_KEY = "tessera.directory.return"
RETURNS_KEPT = 4


def _callback_uri(provider: str) -> str:
    """The address registered with the provider: always the one without a language prefix."""
    with translation.override(settings.LANGUAGE_CODE):
        return settings.TESSERA_BASE_URL + reverse(f"directory:{provider}_callback")


def _leave(request, organisation, url: str):
    """Send the browser to the provider, remembering where its `state` comes back to."""
    state = (parse_qs(urlsplit(url).query).get("state") or [""])[0]
    returns = dict(request.session.get(RETURN_KEY) or {})
    returns[state] = {"org": organisation.slug, "language": translation.get_language()}
    request.session[RETURN_KEY] = dict(list(returns.items())[-RETURNS_KEPT:])
    return redirect(url)


def _returning(request) -> dict:
    """Where the flow the provider sent back started; FlowInvalid for a state this session never sent."""
    returns = dict(request.session.get(RETURN_KEY) or {})
    where = returns.pop(str(request.GET.get("state") or ""), None)
    request.session[RETURN_KEY] = returns
    if not where:
        raise FlowInvalid()
    return where


def _page(where: dict, anchor: str):
    with translation.override(where.get("language") or settings.LANGUAGE_CODE):
        url = reverse("directory:integration", kwargs={"org_slug": where["org"]})
    return redirect(f"{url}#{anchor}")


def _connect(provider: str, start):
    @login_required
    @require_POST
    def connect(request, org_slug):
        organisation = administered(request, org_slug)
        try:
            url = start(
                organisation=organisation,
                actor=request.user,
                redirect_uri=_callback_uri(provider),
                session=request.session,
            )
        except DirectoryError as error:
            messages.error(request, error.message)
            return back(organisation, provider)
        return _leave(request, organisation, url)

    return connect


google_connect = _connect("google", google_connect_url)
microsoft_connect = _connect("microsoft", microsoft_connect_url)


def _callback(provider: str, complete, connected, anchor: str):
    @login_required
    @never_cache
    @require_GET
    def callback(request):
        try:
            where = _returning(request)
        except FlowInvalid as error:
            messages.error(request, error.message)
            return redirect("cards:home")
        organisation = administered(request, where["org"])
        # The callback's address has no language prefix: speak the language the flow started in.
        with translation.override(where.get("language") or settings.LANGUAGE_CODE):
            try:
                connection = complete(
                    organisation=organisation,
                    actor=request.user,
                    session=request.session,
                    query=request.GET.dict(),
                    request=request,
                )
            except DirectoryError as error:
                messages.error(request, str(error.message))
                return _page(where, provider)
            messages.success(request, str(connected) % {"name": connection.display_name})
        return _page(where, anchor)

    return callback


google_callback = _callback(
    "google", google_connect_complete, gettext_lazy("Google Workspace %(name)s is connected."), "google"
)
microsoft_callback = _callback(
    "microsoft",
    microsoft_connect_complete,
    gettext_lazy("Microsoft Entra ID %(name)s is connected. Choose who gets a card, then run a dry run."),
    "microsoft-settings",
)


UNCONFIRMED = gettext_lazy(
    "Google did not confirm that it withdrew the access: remove Tessera from the third-party access of "
    "your Google account to be sure."
)


def _disconnect(provider: str, anchor: str, done: str):
    @login_required
    @require_POST
    def disconnect(request, org_slug):
        organisation = administered(request, org_slug)
        connection = selectors.connection_live(organisation=organisation, provider=provider)
        if connection is not None:
            try:
                revoked = connection_disconnect(connection=connection, actor=request.user, request=request)
            except DirectoryError as error:
                messages.error(request, error.message)
                return back(organisation, anchor)
            messages.success(request, done)
            if not revoked:  # the tokens are deleted here anyway; the grant may still show at the provider
                messages.warning(request, UNCONFIRMED)
        return back(organisation, anchor)

    return disconnect


google_disconnect = _disconnect(
    Provider.GOOGLE,
    "google",
    gettext_lazy(
        "Google Workspace is disconnected; its tokens are deleted. Your members and their cards stay."
    ),
)
microsoft_disconnect = _disconnect(
    Provider.MICROSOFT,
    "microsoft",
    gettext_lazy(
        "Microsoft Entra ID is disconnected: the sync stopped and its tokens are deleted. Your members keep their cards, and their fields are editable again."
    ),
)

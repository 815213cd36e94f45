"""What the Google and Microsoft clients share: the failures a page can explain, and the outbound allowlist.

Every request to Google or Microsoft is checked against a list of (method, URL pattern) before it leaves:
a call the product has no reason to make raises `CallForbidden` and never reaches the network.
"""

import re
from collections.abc import Iterable

import httpx
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class DirectoryError(Exception):
    """A connection failure the integration page shows: `message` is translated, `code` is stable."""

    code = "failed"
    default_message = _("The directory service answered with an error. Try again in a few minutes.")

    def __init__(self, message=None, *, detail: str = ""):
        self.message = message or self.default_message
        # The provider's own words (an OAuth error code, an AADSTS number), never a token.
        self.detail = detail[:500]
        super().__init__(f"{self.code}: {self.detail}" if self.detail else self.code)


class ProviderUnreachable(DirectoryError):
    code = "unreachable"
    default_message = _("The directory service could not be reached. Try again in a few minutes.")


class ProviderRefused(DirectoryError):
    code = "refused"

    def __init__(self, message=None, *, detail: str = "", oauth_error: str = ""):
        # The OAuth 2.0 error code when the token endpoint answered one (invalid_grant, access_denied…).
        self.oauth_error = oauth_error
        super().__init__(message, detail=detail)


class TokenRevoked(DirectoryError):
    """The refresh token is gone (expired, revoked, invalid_grant): it was deleted; connect again."""

    code = "token_revoked"
    default_message = _("Access to the directory was withdrawn or has expired. Connect it again.")


class NotWorkspaceAdmin(DirectoryError):
    code = "not_workspace_admin"
    default_message = _(
        "This Google account is not a Google Workspace administrator who may manage users. "
        "Sign in with a super administrator, or an administrator whose role may update users."
    )


class NotOrganisationAdmin(DirectoryError):
    code = "not_organisation_admin"
    default_message = _("Only an administrator of the organisation may connect or disconnect a directory.")


class ConsentRefused(DirectoryError):
    code = "consent_refused"
    default_message = _(
        "The permissions were not granted. An administrator of the directory must accept them "
        "for the whole organisation."
    )


class ScopesMissing(DirectoryError):
    code = "scopes_missing"
    default_message = _(
        "Some of the requested permissions were not granted. Connect again and accept them all."
    )


class FlowInvalid(DirectoryError):
    code = "flow_invalid"
    default_message = _("This connection attempt expired or was already used. Start again.")


class OtherDirectory(DirectoryError):
    code = "other_directory"
    default_message = _(
        "The organisation is already connected to another directory. Disconnect it before connecting this one."
    )


class CallForbidden(Exception):
    """A request outside the allowlist: a programming error, raised before anything is sent."""


Allowed = list[tuple[str, re.Pattern]]


def allow(method: str, base: str, path_pattern: str = "") -> tuple[str, re.Pattern]:
    """One allowed call: the method, and the URL (without query) as the base followed by a path regex."""
    return method.upper(), re.compile(re.escape(base.rstrip("/")) + path_pattern)


def call_check(allowed: Iterable[tuple[str, re.Pattern]], method: str, url: str) -> None:
    bare = url.split("?", 1)[0].split("#", 1)[0]
    if not any(method.upper() == verb and pattern.fullmatch(bare) for verb, pattern in allowed):
        raise CallForbidden(f"{method.upper()} {bare} is not an allowed directory call")


def guard_hook(allowed: Allowed):
    """An httpx request hook that refuses, before any I/O, a request the allowlist does not name."""

    def check(request: httpx.Request) -> None:
        call_check(allowed, request.method, str(request.url))

    return check


def timeout() -> float:
    return float(settings.DIRECTORY.get("HTTP_TIMEOUT_SECONDS", 30.0))

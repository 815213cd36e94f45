import logging

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from .http import view_flag

log = logging.getLogger(__name__)


class CookieFreeMiddleware:
    """Removes every Set-Cookie from responses of views declared with @cookie_free.

    A cookie reaching such a response is a bug (something touched the session or the CSRF
    cookie); it is stripped and logged so that tests notice.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if view_flag(request, "cookie_free", False) and response.cookies:
            unexpected = sorted(set(response.cookies) - self._session_refresh(request, response))
            if unexpected:
                log.error("cookie-free route %s tried to set %s", request.path, unexpected)
            response.cookies.clear()
        return response

    @staticmethod
    def _session_refresh(request, response) -> set:
        """The signed-in person's own session cookie sent again with the same key (a flash message read,
        say): their session is saved server-side either way, so dropping the header loses nothing."""
        name = settings.SESSION_COOKIE_NAME
        sent = response.cookies.get(name)
        if sent is not None and sent.value and sent.value == request.COOKIES.get(name):
            return {name}
        return set()

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Without this, a session touched here would still be written to the database, for nobody.
        if (
            getattr(view_func, "cookie_free", False)
            and hasattr(request, "session")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
        ):
            request.session = RequestOnlySession()


class RequestOnlySession(SessionBase):
    """The session of a visitor on a cookie-free route: usable by the code, gone with the request."""

    def exists(self, session_key):
        return False

    def create(self):
        self._session_key = None
        self.modified = True

    def save(self, must_create=False):
        pass

    def delete(self, session_key=None):
        pass

    def load(self):
        return {}


class SecurityHeadersMiddleware:
    """Permissions-Policy per view; everything powerful is off unless the view opts in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        allowed = view_flag(request, "permissions_allowed", frozenset())
        parts = []
        for feature, origins in settings.PERMISSIONS_POLICY_DEFAULT.items():
            value = "self" if feature in allowed else " ".join(origins)
            parts.append(f"{feature}=({value})")
        response.headers.setdefault("Permissions-Policy", ", ".join(parts))
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response

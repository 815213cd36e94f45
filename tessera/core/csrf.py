"""CSRF protection that needs no cookie for people who have no session.

Signed-in people keep Django's CSRF, stored in their session (CSRF_USE_SESSIONS). Everyone else, and
every view marked @signed_form_csrf, gets a signed, expiring form token checked together with the
Origin (or Sec-Fetch-Site) header, so that public pages can hold forms and still set no cookie.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.middleware.csrf import CsrfViewMiddleware as DjangoCsrfViewMiddleware
from django.middleware.csrf import get_token
from django.utils.crypto import get_random_string
from django.utils.functional import lazy

from .http import view_flag

FORM_TOKEN_SALT = "tessera.core.csrf.form-token"
FORM_FIELD = "csrfmiddlewaretoken"
HEADER = "HTTP_X_CSRFTOKEN"


def has_session(request) -> bool:
    return settings.SESSION_COOKIE_NAME in request.COOKIES


def uses_signed_form(request) -> bool:
    return bool(
        view_flag(request, "cookie_free") or view_flag(request, "signed_form_csrf")
    ) or not has_session(request)


def form_token_make() -> str:
    return signing.dumps(get_random_string(12), salt=FORM_TOKEN_SALT, compress=False)


def form_token_valid(token: str) -> bool:
    try:
        signing.loads(token, salt=FORM_TOKEN_SALT, max_age=settings.TESSERA_FORM_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return False
    return True


def _allowed_origins(request) -> set[str]:
    origins = {f"{request.scheme}://{request.get_host()}"}
    origins.update(settings.CSRF_TRUSTED_ORIGINS)
    base = urlsplit(settings.TESSERA_BASE_URL)
    origins.add(f"{base.scheme}://{base.netloc}")
    return origins


def same_origin(request) -> bool:
    origin = request.META.get("HTTP_ORIGIN")
    if origin and origin != "null":
        return origin in _allowed_origins(request)
    # Under `Referrer-Policy: no-referrer` Chromium sends `Origin: null` even on same-origin posts, and
    # some browsers omit Origin; Fetch Metadata, which pages cannot forge, then decides.
    return request.META.get("HTTP_SEC_FETCH_SITE") in {"same-origin", "none"}


def csrf(request):
    """Context processor: `{% csrf_token %}` renders a signed token when no session exists."""

    def _token():
        if uses_signed_form(request):
            return form_token_make()
        return get_token(request)

    return {"csrf_token": lazy(_token, str)()}


class CsrfViewMiddleware(DjangoCsrfViewMiddleware):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if getattr(request, "csrf_processing_done", False):
            return None
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return None
        if getattr(callback, "csrf_exempt", False) and not getattr(callback, "signed_form_csrf", False):
            return None
        signed = (
            getattr(callback, "cookie_free", False)
            or getattr(callback, "signed_form_csrf", False)
            or not has_session(request)
        )
        if not signed:
            return super().process_view(request, callback, callback_args, callback_kwargs)
        if not same_origin(request):
            return self._reject(request, "Origin checking failed: not the same origin.")
        token = request.META.get(HEADER, "")
        if not token:
            try:
                token = request.POST.get(FORM_FIELD, "")
            except OSError:
                token = ""
        if not form_token_valid(token):
            return self._reject(request, "The form token is missing, forged or expired.")
        return self._accept(request)

    # Django's checks for signed-in people, taught the same fallback: under `no-referrer` Chromium posts
    # with `Origin: null` and no Referer, and only Fetch Metadata still tells where the post came from.
    def _origin_verified(self, request):
        if request.META["HTTP_ORIGIN"] == "null":
            return request.META.get("HTTP_SEC_FETCH_SITE") == "same-origin"
        return super()._origin_verified(request)

    def _check_referer(self, request):
        if request.META.get("HTTP_SEC_FETCH_SITE") == "same-origin":
            return
        super()._check_referer(request)

"""Declarations a view makes about itself, read by tessera.core.middleware."""

from collections.abc import Callable, Iterable
from functools import wraps

from django.views.decorators.csrf import csrf_exempt


def _mark(view: Callable, **attrs) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        return view(*args, **kwargs)

    for name, value in attrs.items():
        setattr(wrapped, name, value)
    return wrapped


def cookie_free(view: Callable) -> Callable:
    """Guarantee that no response of this view carries a Set-Cookie header.

    Forms on such a view are protected by a signed form token and an Origin check (tessera.core.csrf)
    instead of a CSRF cookie. Works on function views and on `View.as_view()` results.
    """
    return _mark(view, cookie_free=True)


def permissions(*features: Iterable[str]) -> Callable[[Callable], Callable]:
    """Allow powerful browser features (camera, microphone, display-capture) on this view only."""

    def decorator(view: Callable) -> Callable:
        return _mark(view, permissions_allowed=frozenset(features))

    return decorator


def signed_form_csrf(view: Callable) -> Callable:
    """Check this view's forms by signed token and Origin even for signed-in people."""
    return _mark(csrf_exempt(view), signed_form_csrf=True)


def view_flag(request, name: str, default=None):
    match = getattr(request, "resolver_match", None)
    if match is None:
        return default
    return getattr(match.func, name, default)

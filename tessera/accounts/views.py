from functools import wraps

from allauth.account.views import logout as allauth_logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from tessera.core.csrf import FORM_FIELD, CsrfViewMiddleware, form_token_valid, same_origin
from tessera.core.views import csrf_failure


@login_required
def account_home(request):
    memberships = request.user.memberships.select_related("organisation")
    return render(request, "accounts/home.html", {"memberships": memberships})


def _either_csrf_token(view):
    """Accept the sign-out form from any page: both kinds of CSRF token, each with its own check.

    The header's sign-out form is on every page. Cookie-free pages (the home page, public pages) render a
    signed form token, checked with the Origin; the other pages render Django's token kept in the session.
    """

    @csrf_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST":
            if form_token_valid(request.POST.get(FORM_FIELD, "")):
                if not same_origin(request):
                    return csrf_failure(request)
            else:
                refusal = CsrfViewMiddleware(view).process_view(request, view, args, kwargs)
                if refusal is not None:
                    return refusal
        return view(request, *args, **kwargs)

    return wrapped


logout = _either_csrf_token(allauth_logout)

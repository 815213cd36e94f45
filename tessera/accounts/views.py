from functools import wraps

from allauth.account.views import logout as allauth_logout
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from tessera.core.csrf import FORM_FIELD, CsrfViewMiddleware, form_token_valid, same_origin
from tessera.core.ratelimit import rate_limited
from tessera.core.views import csrf_failure

from . import selectors, services
from .forms import WelcomeForm


@login_required
def account_home(request):
    memberships = request.user.memberships.select_related("organisation")
    return render(request, "accounts/home.html", {"memberships": memberships})


@never_cache
@rate_limited("accounts.welcome", limit=30, period=3600)
def welcome(request, token):
    """A directory-provisioned person chooses a password; the link verifies their address and signs them in."""
    link = selectors.welcome_link_get(token=token)
    if link is None:
        return render(request, "accounts/welcome_invalid.html", status=404)
    form = WelcomeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.welcome_link_use(
                token=token,
                password=form.cleaned_data["password1"],
                age_confirmed=form.cleaned_data["age_confirmed"],
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                form.add_error("password1" if name == "password" else None, messages)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("cards:home")
    return render(
        request, "accounts/welcome.html", {"link": link, "form": form}, status=400 if form.errors else 200
    )


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

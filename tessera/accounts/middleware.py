from django.shortcuts import redirect
from django.urls import reverse

SECOND_FACTORS = ("totp", "webauthn")


class StaffMFAMiddleware:
    """The back-office: staff reach it only once they have a second factor, and its forms can post.

    Back-office pages answer with `Referrer-Policy: same-origin`: under the site-wide `no-referrer`, browsers
    post forms with `Origin: null`. Other sites still get no referrer.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(_admin_prefixes()):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff and not _has_second_factor(user):
            return redirect(reverse("mfa_index"))
        response = self.get_response(request)
        response.headers["Referrer-Policy"] = "same-origin"
        return response


def _has_second_factor(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS).exists()


def _admin_prefixes() -> tuple[str, ...]:
    return ("/admin/", "/en/admin/")

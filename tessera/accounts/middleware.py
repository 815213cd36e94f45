from django.shortcuts import redirect
from django.urls import reverse

SECOND_FACTORS = ("totp", "webauthn")


class StaffMFAMiddleware:
    """Staff reach the back-office only once they have a second factor (authenticator app or passkey)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and request.path_info.startswith(_admin_prefixes())
            and not _has_second_factor(user)
        ):
            return redirect(reverse("mfa_index"))
        return self.get_response(request)


def _has_second_factor(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS).exists()


def _admin_prefixes() -> tuple[str, ...]:
    return ("/admin/", "/en/admin/")

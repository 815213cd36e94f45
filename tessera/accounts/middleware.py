from django.shortcuts import redirect
from django.urls import reverse


class StaffMFAMiddleware:
    """Staff reach the back-office only once they have a second factor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and request.path_info.startswith(_admin_prefixes())
        ):
            from allauth.mfa.models import Authenticator

            if not Authenticator.objects.filter(
                user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
            ).exists():
                return redirect(reverse("mfa_index"))
        return self.get_response(request)


def _admin_prefixes() -> tuple[str, ...]:
    return ("/admin/", "/en/admin/")

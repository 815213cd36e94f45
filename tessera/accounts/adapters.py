from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone, translation
from django.utils.crypto import get_random_string

from tessera.core.outbox import email_queue_template


def _signup_fields(user, cleaned_data: dict, request) -> None:
    """What our sign-up form adds to allauth's, set before the first save so the row is whole at once."""
    if cleaned_data.get("full_name"):
        user.full_name = cleaned_data["full_name"]
    if cleaned_data.get("age_confirmed"):
        user.age_confirmed_at = timezone.now()
    user.language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language() or "fr"


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        """allauth's emails go through the durable outbox like every other email.

        All of them are sealed: confirmation keys, reset links and sign-in codes are credentials, and
        sealing the plain notifications too costs nothing (they are kept readable once sent).
        """
        email_queue_template(
            to=email,
            template=template_prefix,
            context={"email": email, **context},
            language=translation.get_language() or settings.LANGUAGE_CODE,
            kind=template_prefix.rsplit("/", 1)[-1],
            confidential=True,
        )

    def send_account_already_exists_mail(self, email):
        """A sign-up with a taken address hashes a password too, as a new account's would.

        Without it the answer came 20 times faster for an existing address (no Argon2 work), which told
        anyone timing it which addresses have an account.
        """
        make_password(get_random_string(32))
        return super().send_account_already_exists_mail(email)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        _signup_fields(user, getattr(form, "cleaned_data", {}), request)
        if commit:
            user.save()
        return user

    def get_login_stages(self):
        return [
            "tessera.accounts.stages.EmailVerificationStage"
            if path == "allauth.account.stages.EmailVerificationStage"
            else path
            for path in super().get_login_stages()
        ]

    def unstash_verified_email(self, request):
        # Popped rather than set to None: a session left empty writes no cookie.
        return request.session.pop("account_verified_email", None)

    def add_message(
        self, request, level, message_template=None, message_context=None, extra_tags="", message=None
    ):
        # No flash message for someone without a session: it would create one, and a cookie. Nor for
        # signing out: it would outlive the session it ends, in a new one.
        if message_template == "account/messages/logged_out.txt":
            return
        if request.user.is_authenticated or settings.SESSION_COOKIE_NAME in request.COOKIES:
            super().add_message(request, level, message_template, message_context, extra_tags, message)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_provider(self, request, provider, client_id=None):
        instance = super().get_provider(request, provider, client_id=client_id)
        # The scopes are pinned in settings: a "scope" query parameter must not widen them.
        instance.get_scope_from_request = lambda request: instance.get_scope()
        return instance

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        name = data.get("name") or " ".join(filter(None, [data.get("first_name"), data.get("last_name")]))
        user.full_name = (name or "")[:150]
        return user

    def get_signup_form_initial_data(self, sociallogin):
        initial = super().get_signup_form_initial_data(sociallogin)
        initial["full_name"] = sociallogin.user.full_name
        return initial

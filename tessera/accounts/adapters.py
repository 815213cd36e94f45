from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.utils import translation

from tessera.core.outbox import email_queue_template


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        """allauth's emails go through the durable outbox like every other email."""
        email_queue_template(
            to=email,
            template=template_prefix,
            context=context,
            language=translation.get_language() or settings.LANGUAGE_CODE,
            kind=template_prefix.rsplit("/", 1)[-1],
        )

    def add_message(
        self, request, level, message_template=None, message_context=None, extra_tags="", message=None
    ):
        # No flash message for someone without a session: it would create one, and a cookie.
        if request.user.is_authenticated or settings.SESSION_COOKIE_NAME in request.COOKIES:
            super().add_message(request, level, message_template, message_context, extra_tags, message)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    pass

from django.conf import settings
from django.contrib.messages.storage.session import SessionStorage


class SessionOnlyStorage(SessionStorage):
    """Flash messages for people who already have a session; never creates one (or a cookie)."""

    def _store(self, messages, response, *args, **kwargs):
        if (
            settings.SESSION_COOKIE_NAME not in self.request.COOKIES
            and not self.request.user.is_authenticated
        ):
            return []
        return super()._store(messages, response, *args, **kwargs)

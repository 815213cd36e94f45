"""allauth's sign-in form, adjusted. Kept apart from forms.py, which allauth imports while building its own."""

from allauth.account.forms import LoginForm as AllauthLoginForm


class LoginForm(AllauthLoginForm):
    def login(self, request, redirect_url=None):
        response = super().login(request, redirect_url)
        # allauth stores the "remember me" choice even when no one got signed in (address not confirmed
        # yet): alone in a session, it would give an anonymous visitor a cookie.
        if set(request.session.keys()) <= {"_session_expiry"}:
            request.session.pop("_session_expiry", None)
        return response

from allauth.account import app_settings
from allauth.account.stages import EmailVerificationStage as AllauthEmailVerificationStage


class EmailVerificationStage(AllauthEmailVerificationStage):
    """allauth's stage, without keeping a pending sign-in that nothing will resume.

    Addresses are confirmed by a link that does not sign in, so the pending sign-in allauth would stash in
    the session is never used; stashing it would only give an anonymous visitor a session and a cookie.
    """

    def handle(self):
        response, cont = super().handle()
        if response is not None and not self.is_resumable(self.request):
            if not app_settings.LOGIN_ON_EMAIL_CONFIRMATION:
                cont = False
        return response, cont

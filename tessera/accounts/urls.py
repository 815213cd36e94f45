from allauth.account.views import signup
from allauth.mfa.webauthn.views import login_webauthn
from django.db import transaction
from django.urls import path

from tessera.core.http import signed_form_csrf

from . import views

# Listed before allauth's own URLs: these replace allauth's views at the same paths.
urlpatterns = [
    path("", views.account_home, name="account_home"),
    # A failure half-way (say, the outbox write) must leave no account behind.
    path("signup/", transaction.atomic(signup), name="account_signup"),
    # The passkey button fetches its challenge first, which opens a session; the form posted next still
    # carries the signed token of the cookie-free sign-in page.
    path("2fa/webauthn/login/", signed_form_csrf(login_webauthn), name="mfa_login_webauthn"),
    path("logout/", views.logout, name="account_logout"),
    path("welcome/<str:token>/", views.welcome, name="account_welcome"),
]

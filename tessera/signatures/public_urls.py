"""Signature images, outside the language prefixes: an email links to them for as long as it is kept."""

from django.urls import path

from .views import public

app_name = "signatures_public"

urlpatterns = [
    path("logo/<uuid:public_id>-<str:version>.png", public.logo, name="logo"),
    path("qr/<str:token>.png", public.qr, name="qr"),
]

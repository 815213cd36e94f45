"""Public card pages: outside the language prefixes, the language follows Accept-Language."""

from django.urls import path, re_path

from .views import public as views

app_name = "cards_public"

urlpatterns = [
    # By the template's opaque id: templates cannot be enumerated (the version only breaks caches).
    path("t/<uuid:public_id>-<str:version>.css", views.template_stylesheet, name="template_css"),
    path("t/<uuid:public_id>-<str:version>.png", views.template_logo, name="template_logo"),
    path("<slug:slug>", views.card_page, name="card"),
    path("<slug:slug>/exchange", views.card_exchange, name="exchange"),
    path("<slug:slug>/exchange/challenge", views.card_exchange_challenge, name="exchange_challenge"),
    path("<slug:slug>/vcard", views.card_vcard, name="vcard"),
    re_path(r"^(?P<slug>[-\w]+)/qr\.(?P<kind>svg|png)$", views.card_qr, name="qr"),
    path("<slug:slug>/card.ndef", views.card_ndef, name="ndef"),
    path("<slug:slug>/photo-<str:version>.jpg", views.card_photo, name="photo"),
]

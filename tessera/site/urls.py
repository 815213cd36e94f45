from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("security/", views.security, name="security"),
    # /cards/ is the cards app's signed-in space: the product page of cards lives under /product/.
    path("meetings/", views.meetings, name="product_meetings"),
    path("product/cards/", views.cards, name="product_cards"),
    path("legal/", views.legal, name="legal"),
    path("terms/", views.terms, name="terms"),
    path("subprocessors/", views.subprocessors, name="subprocessors"),
    path("dpa/", views.dpa, name="dpa"),
    path("faq/", views.faq, name="faq"),
]

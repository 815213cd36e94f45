"""Public card pages: outside the language prefixes, the language follows Accept-Language."""

from django.urls import path

urlpatterns: list = [
]

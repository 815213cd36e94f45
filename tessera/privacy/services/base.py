"""Small helpers the privacy services share."""

from django.conf import settings


def setting(name):
    return settings.TESSERA_PRIVACY[name]


def absolute(path: str) -> str:
    return settings.TESSERA_BASE_URL + path

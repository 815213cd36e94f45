"""Refresh tokens at rest: sealed with a key from the environment, never from the database.

`TESSERA_DIRECTORY_KEYS` holds one or more Fernet keys, newest first: a new key seals, every key opens,
so that a key is rotated without losing the tokens sealed with the old one.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TokenUnreadable(Exception):
    """A sealed token no configured key opens (a key was removed, or the value was tampered with)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("TESSERA_DIRECTORY_KEYS is empty: directory tokens cannot be sealed.")
    return MultiFernet([Fernet(key) for key in keys])


def token_seal(token: str) -> str:
    return _fernet(tuple(settings.TESSERA_DIRECTORY_KEYS)).encrypt(token.encode()).decode()


def token_open(sealed: str) -> str:
    try:
        return _fernet(tuple(settings.TESSERA_DIRECTORY_KEYS)).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise TokenUnreadable("no configured key opens this token") from None

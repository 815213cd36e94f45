import secrets


def opaque_id(nbytes: int = 16) -> str:
    """A random, URL-safe identifier that carries no meaning (room ids, slugs of links)."""
    return secrets.token_urlsafe(nbytes)

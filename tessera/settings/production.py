"""Production settings: base, behind TLS, with every secret from the environment."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

if not env("TESSERA_SECRET_KEY", default=""):
    raise ImproperlyConfigured("TESSERA_SECRET_KEY must be set in production.")
# A directory token sealed with a key kept next to the database is not sealed: the key comes from outside.
if not env.list("TESSERA_DIRECTORY_KEYS", default=[]):
    raise ImproperlyConfigured("TESSERA_DIRECTORY_KEYS must be set in production.")
# A Janus reachable with a sample secret (or none) lets anyone create rooms and subscribe to any feed.
if env.list("JANUS_URLS", default=[]):
    for _name in ("JANUS_API_SECRET", "JANUS_ADMIN_KEY"):
        _value = env(_name, default="")
        if len(_value) < 32 or _value in {"janusrocks", "janusoverlord", "supersecret", "adminpwd"}:
            raise ImproperlyConfigured(f"{_name} must be set to a random value of 32 characters or more.")
# A legal notice still showing a placeholder is no legal notice: every entry comes from the environment.
_placeholders = sorted(k for k, v in TESSERA_LEGAL.items() if not str(v).strip() or str(v).startswith("["))  # noqa: F405
if _placeholders:
    raise ImproperlyConfigured(
        f"TESSERA_LEGAL has placeholders, set them in production: {', '.join(_placeholders)}"
    )

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("TESSERA_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("TESSERA_HSTS_SECONDS", default=63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("TESSERA_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-tessera_session"
CSRF_COOKIE_SECURE = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False

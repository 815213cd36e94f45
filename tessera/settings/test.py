"""Test settings: base, with fast hashing, tasks run on commit in-process, and a loopback SMTP relay.

DATABASE_URL still chooses the engine, so the same suite runs on SQLite and on PostgreSQL.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("TESSERA_VAR_DIR", tempfile.mkdtemp(prefix="tessera-test-"))
os.environ.setdefault("TESSERA_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")

from .base import *  # noqa: F403
from .base import DATABASES, HUEY, VAR_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: the live server's threads and the test share it.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(VAR_DIR) / "test.sqlite3")}

# Tasks run synchronously once the transaction commits; retries are the outbox's own.
HUEY = {**HUEY, "immediate": True, "huey_class": "huey.MemoryHuey", "name": "tessera-test"}
HUEY.pop("filename", None)
HUEY.pop("url", None)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The smtp fixture points this at its aiosmtpd port.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = 1
EMAIL_USE_TLS = False
EMAIL_TIMEOUT = 5

MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
TESSERA_BASE_URL = "http://testserver"
# The webhook receivers of the tests listen on loopback; tests/core/test_outbound.py turns this off.
TESSERA_OUTBOUND_ALLOW_PRIVATE = True
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

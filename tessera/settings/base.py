"""Settings shared by every environment; the embedded defaults of `make run`.

The chain: base.py holds everything and reads the environment (DATABASE_URL, REDIS_URL, EMAIL_URL, ...).
test.py imports base and pins what tests need (fast hashing, eager tasks, loopback SMTP). production.py
imports base and turns on what only makes sense behind TLS (HSTS, secure cookies) and insists on a
secret key from the environment. manage.py and asgi.py default to base.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parents[2]
env = environ.Env()

VAR_DIR = Path(env("TESSERA_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    """A per-installation key kept under var/, so that `make run` needs no configuration."""
    import secrets

    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("TESSERA_SECRET_KEY", default="") or _embedded_secret_key()
DEBUG = env.bool("TESSERA_DEBUG", default=False)
ALLOWED_HOSTS = env.list("TESSERA_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("TESSERA_TRUSTED_ORIGINS", default=[])
# The public origin, used in links sent by email (no request is at hand in a worker).
TESSERA_BASE_URL = env("TESSERA_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "ninja",  # serves the API docs' Swagger UI from our own static files, not a CDN
    "huey.contrib.djhuey",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "tessera.core",
    "tessera.accounts",
    "tessera.privacy",
    "tessera.meetings",
    "tessera.meetings.room",
    "tessera.cards",
    "tessera.directory",
    "tessera.signatures",
    "tessera.site",
    "tessera.support",
]

MIDDLEWARE = [
    # First in, last out: strips any Set-Cookie a cookie-free route would otherwise send.
    "tessera.core.middleware.CookieFreeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "tessera.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "tessera.core.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tessera.accounts.middleware.StaffMFAMiddleware",
]

ROOT_URLCONF = "tessera.urls"
ASGI_APPLICATION = "tessera.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tessera" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                # Replaces Django's csrf processor: a signed token where no session exists.
                "tessera.core.csrf.csrf",
                "tessera.core.context_processors.tessera",
            ],
        },
    }
]

# Databases: SQLite in WAL mode under var/ unless DATABASE_URL names another engine.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tessera.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
# Connections are kept for a minute on SQLite too: opening one (and its PRAGMAs) cost 4 ms against 1 ms
# for a whole query from the room's database thread, which queued joins behind statistics at 1,000 people.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("TESSERA_DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # redis-py reads with a 5 s socket timeout by default, the very length of channels-redis's blocking
    # pop: an idle connection's receive then failed at random. Reads wait longer than that pop; a Redis
    # that is gone is still noticed within 15 s, and connections are checked before reuse.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 15,
                        "socket_connect_timeout": 5,
                        "health_check_interval": 10,
                    }
                ]
            },
        }
    }
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": "tessera",
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "tessera",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# The SFU of large rooms (decision 0011): none by default, so `make run` stays mesh-only. Tessera's
# server talks to each Janus over its WebSocket API with the API secret; browsers never see it.
JANUS_URLS = env.list("JANUS_URLS", default=[])
JANUS_API_SECRET = env("JANUS_API_SECRET", default="")
JANUS_ADMIN_KEY = env("JANUS_ADMIN_KEY", default="")  # VideoRoom's admin_key: only Tessera creates rooms

# Email: every message is first a row of the outbox (tessera.core); this only says how rows leave.
EMAIL_URL = env("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    # No relay configured: delivered messages are kept as files and stay readable in the back-office.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env("TESSERA_FROM_EMAIL", default="Tessera <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 20

# The operator of this installation; the privacy pages and emails name it.
TESSERA_OPERATOR = {
    "name": env("TESSERA_OPERATOR_NAME", default="Tessera Demo"),
    "address": env("TESSERA_OPERATOR_ADDRESS", default=""),
    "email": env("TESSERA_OPERATOR_EMAIL", default="contact@localhost"),
    "dpo_email": env("TESSERA_DPO_EMAIL", default="dpo@localhost"),
    "dpo_address": env("TESSERA_DPO_ADDRESS", default=""),
    "supervisory_authority": env("TESSERA_SUPERVISORY_AUTHORITY", default="CNIL"),
    # GDPR Art. 27: only an operator established outside the Union names a representative in it.
    "representative": env("TESSERA_OPERATOR_REPRESENTATIVE", default=""),
}

# The legal notice (mentions légales, LCEN art. 6-III). Bracketed values are placeholders that the
# production settings refuse: every one must be set from the environment.
TESSERA_LEGAL = {
    "operator_name": env("TESSERA_LEGAL_OPERATOR_NAME", default="[Operator legal name]"),
    "legal_form": env("TESSERA_LEGAL_FORM", default="[Legal form and share capital]"),
    "registered_address": env("TESSERA_LEGAL_ADDRESS", default="[Registered office address]"),
    "registration": env("TESSERA_LEGAL_REGISTRATION", default="[Registration number and registry]"),
    "vat_number": env("TESSERA_LEGAL_VAT", default="[VAT number]"),
    "phone": env("TESSERA_LEGAL_PHONE", default="[Phone number]"),
    "email": env("TESSERA_LEGAL_EMAIL", default="[Contact email address]"),
    "publication_director": env("TESSERA_LEGAL_DIRECTOR", default="[Publication director, name and role]"),
    "host_name": env("TESSERA_LEGAL_HOST_NAME", default="[Host company name]"),
    "host_address": env("TESSERA_LEGAL_HOST_ADDRESS", default="[Host address]"),
    "host_phone": env("TESSERA_LEGAL_HOST_PHONE", default="[Host phone number]"),
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "account_home"
LOGOUT_REDIRECT_URL = "home"

# Sessions exist only for signed-in people; the session is the only cookie the product sets.
SESSION_COOKIE_NAME = "tessera_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
# CSRF tokens of signed-in people live in their session: no separate CSRF cookie.
CSRF_USE_SESSIONS = True
CSRF_FAILURE_VIEW = "tessera.core.views.csrf_failure"
MESSAGE_STORAGE = "tessera.core.messages.SessionOnlyStorage"

# allauth
ACCOUNT_ADAPTER = "tessera.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "tessera.accounts.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "tessera.accounts.forms.SignupForm"
ACCOUNT_FORMS = {"login": "tessera.accounts.login.LoginForm"}
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 2
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "5/5m/key,20/5m/ip",
    "signup": "10/h/ip",
    "confirm_email": "3/m/key",
    "reset_password": "5/m/ip,3/h/key",
    "reset_password_from_key": "20/m/ip",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Tell people by email when their password, addresses or second factors change.
ACCOUNT_EMAIL_NOTIFICATIONS = True
# Rate limits and the security log key on the client address; behind nginx, say how many proxies to skip.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TESSERA_TRUSTED_PROXY_COUNT", default=0)
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool("TESSERA_WEBAUTHN_INSECURE_ORIGIN", default=DEBUG)
MFA_TOTP_ISSUER = "Tessera"
# "Trust this browser" would need a cookie of its own.
MFA_TRUST_ENABLED = False
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
# A first sign-in with Google or Microsoft shows the sign-up form, so that the age confirmation is asked.
SOCIALACCOUNT_AUTO_SIGNUP = False


def _oidc_app(provider_id: str, name: str, prefix: str, default_server: str) -> dict | None:
    client_id = env(f"{prefix}_CLIENT_ID", default="")
    if not client_id:
        return None
    return {
        "provider_id": provider_id,
        "name": name,
        "client_id": client_id,
        "secret": env(f"{prefix}_CLIENT_SECRET", default=""),
        "settings": {"server_url": env(f"{prefix}_SERVER_URL", default=default_server)},
    }


# Google and Microsoft sign-in are plain OpenID Connect, pointed at the provider's issuer.
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        # Pinned: identify the person and nothing more, whatever a library's default becomes.
        "SCOPE": ["openid", "email", "profile"],
        "APPS": [
            app
            for app in (
                _oidc_app("google", "Google", "GOOGLE_OIDC", "https://accounts.google.com"),
                _oidc_app(
                    "microsoft",
                    "Microsoft",
                    "MICROSOFT_OIDC",
                    f"https://login.microsoftonline.com/{env('MICROSOFT_TENANT', default='organizations')}/v2.0",
                ),
            )
            if app
        ],
    }
}

# Directory: Google Workspace and Microsoft Entra ID, reached through their documented HTTP APIs. Each base
# URL is a setting so that tests and benchmarks point the same code at local fakes of those APIs.
DIRECTORY = {
    "GOOGLE_CLIENT_ID": env("DIRECTORY_GOOGLE_CLIENT_ID", default=""),
    "GOOGLE_CLIENT_SECRET": env("DIRECTORY_GOOGLE_CLIENT_SECRET", default=""),
    "GOOGLE_AUTHORIZE_URL": env(
        "DIRECTORY_GOOGLE_AUTHORIZE_URL", default="https://accounts.google.com/o/oauth2/v2/auth"
    ),
    "GOOGLE_TOKEN_URL": env("DIRECTORY_GOOGLE_TOKEN_URL", default="https://oauth2.googleapis.com/token"),
    "GOOGLE_REVOKE_URL": env("DIRECTORY_GOOGLE_REVOKE_URL", default="https://oauth2.googleapis.com/revoke"),
    "GOOGLE_USERINFO_URL": env(
        "DIRECTORY_GOOGLE_USERINFO_URL", default="https://openidconnect.googleapis.com/v1/userinfo"
    ),
    "GOOGLE_ADMIN_URL": env("DIRECTORY_GOOGLE_ADMIN_URL", default="https://admin.googleapis.com"),
    "GOOGLE_GMAIL_URL": env("DIRECTORY_GOOGLE_GMAIL_URL", default="https://gmail.googleapis.com"),
    # The service account's JSON key (or its file's path) that signs Gmail signature pushes for each member.
    "GOOGLE_SERVICE_ACCOUNT_KEY": env("DIRECTORY_GOOGLE_SERVICE_ACCOUNT_KEY", default=""),
    "MICROSOFT_CLIENT_ID": env("DIRECTORY_MICROSOFT_CLIENT_ID", default=""),
    "MICROSOFT_CLIENT_SECRET": env("DIRECTORY_MICROSOFT_CLIENT_SECRET", default=""),
    # msal's authority: the tenant part is replaced by the customer's tenant once it consented.
    "MICROSOFT_AUTHORITY_HOST": env(
        "DIRECTORY_MICROSOFT_AUTHORITY_HOST", default="https://login.microsoftonline.com"
    ),
    "GRAPH_URL": env("DIRECTORY_GRAPH_URL", default="https://graph.microsoft.com/v1.0"),
    # Minutes between two periodic delta syncs of a connected directory.
    "SYNC_INTERVAL_MINUTES": env.int("DIRECTORY_SYNC_INTERVAL_MINUTES", default=15),
    "HTTP_TIMEOUT_SECONDS": env.float("DIRECTORY_HTTP_TIMEOUT_SECONDS", default=30.0),
}


def _embedded_directory_key() -> str:
    """A per-installation Fernet key under var/, for `make run`; production sets TESSERA_DIRECTORY_KEYS."""
    path = VAR_DIR / "directory_key"
    if not path.exists():
        import base64
        import secrets

        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


# Refresh tokens are sealed with these keys (newest first), never with anything the database holds.
TESSERA_DIRECTORY_KEYS = env.list("TESSERA_DIRECTORY_KEYS", default=[]) or [_embedded_directory_key()]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "tessera" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "tessera" / "static"]
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Security headers. The CSP forbids inline script and style everywhere.
# Chromium applies form-action to the redirect that follows a form, so sign-in providers are listed.
_FORM_ACTIONS = [SELF] + [
    "{0.scheme}://{0.netloc}".format(urlsplit(app["settings"]["server_url"]))
    for app in SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]
]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": _FORM_ACTIONS,
        "frame-ancestors": [NONE],
    }
}
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Pages that use the camera or microphone opt in with tessera.core.http.permissions(...).
PERMISSIONS_POLICY_DEFAULT = {
    "camera": [],
    "microphone": [],
    "display-capture": [],
    "geolocation": [],
    "payment": [],
    "usb": [],
    "interest-cohort": [],
    "browsing-topics": [],
}

# Rate limits of our own (tessera.core.ratelimit), per scope: (requests, seconds).
TESSERA_RATE_LIMITS = {}
# How long a signed form token of a cookie-free page stays valid.
TESSERA_FORM_TOKEN_MAX_AGE = 60 * 60 * 4

# Webhooks and other calls to customer-chosen URLs go to public internet addresses only
# (tessera.core.outbound); True lets them reach loopback and private networks.
TESSERA_OUTBOUND_ALLOW_PRIVATE = env.bool("TESSERA_OUTBOUND_ALLOW_PRIVATE", default=False)

# Security log: kept 12 months, then pruned from the start of the chain.
TESSERA_AUDIT_RETENTION_DAYS = 365
# Keys the security log's hash chain; defaults to one derived from the secret key.
TESSERA_AUDIT_KEY = env("TESSERA_AUDIT_KEY", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("TESSERA_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "huey": {"level": "WARNING"},
        "uvicorn.access": {"level": "WARNING"},
        # httpx logs every request's URL at INFO: webhook URLs can carry a customer's secret.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Privacy core
# Sub-processors named by the privacy policy and the Art. 30 register; each activity lists the keys it
# uses. `personal_data: False` says the provider handles no identifiable personal data.
TESSERA_SUB_PROCESSORS = {
    "hosting": {
        "name": env("TESSERA_HOSTING_NAME", default="Hosting provider"),
        "service": _("Hosting of the service, storage of data and files"),
        "country": env("TESSERA_HOSTING_COUNTRY", default="France"),
        "dpa_url": env("TESSERA_HOSTING_DPA_URL", default=""),
        "personal_data": True,
    },
    "email": {
        "name": env("TESSERA_EMAIL_PROVIDER_NAME", default="Email relay"),
        "service": _("Sending of emails"),
        "country": env("TESSERA_EMAIL_PROVIDER_COUNTRY", default="France"),
        "dpa_url": env("TESSERA_EMAIL_PROVIDER_DPA_URL", default=""),
        "personal_data": True,
    },
    "ddos": {
        "name": env("TESSERA_DDOS_PROVIDER_NAME", default="DDoS protection provider"),
        "service": _("Protection against denial-of-service attacks, without storing personal data"),
        "country": env("TESSERA_DDOS_PROVIDER_COUNTRY", default="France"),
        "dpa_url": env("TESSERA_DDOS_PROVIDER_DPA_URL", default=""),
        "personal_data": False,
    },
}
TESSERA_PRIVACY = {
    "minimum_age": 16,
    "outbox_sent_days": 30,  # sent or rejected emails are purged after this
    "unverified_signup_days": 7,  # accounts whose address was never confirmed
    "marketing_inactivity_days": 3 * 365,
    "consent_proof_days": 5 * 365,  # proof of a withdrawn consent (limitation period)
    "rights_request_days": 5 * 365,  # after closure: the limitation period to prove the answer
    "incident_days": 5 * 365,
    "rights_link_hours": 24,
    "rights_answer_months": 1,  # calendar months (GDPR Art. 12(3)): 31 January -> 28/29 February
    "rights_extension_months": 2,  # two further months from the first deadline, with a written reason
    "recording_notice_days": 7,
    "oauth_token_idle_hours": 1,
}

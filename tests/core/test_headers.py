import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]


def policy(response) -> dict[str, str]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


def assert_strict_headers(response, referrer_policies=("no-referrer",)):
    csp = policy(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] in referrer_policies
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    features = permissions_policy(response)
    assert features["camera"] == "()" and features["microphone"] == "()"


def permissions_policy(response) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in response["Permissions-Policy"].split(","))


@pytest.fixture
def staff_and_anonymous(staff_client):
    return {"anonymous": Client(), "staff": staff_client}


@pytest.mark.parametrize(
    ("who", "method", "path", "status"),
    [
        ("anonymous", "get", "/", 200),
        ("anonymous", "get", "/en/", 200),
        ("anonymous", "get", "/accounts/login/", 200),
        ("anonymous", "get", "/no-such-page/", 404),
        ("anonymous", "get", "/_test/chatty/", 200),
        ("anonymous", "get", "/_test/public-form/", 200),
        ("anonymous", "get", "/admin/", 302),
        ("staff", "get", "/admin/", 200),
        ("staff", "get", "/admin/core/outboxmessage/", 200),
        ("staff", "get", "/admin/core/securityevent/", 200),
    ],
)
def test_every_response_carries_the_strict_headers(staff_and_anonymous, who, method, path, status):
    response = getattr(staff_and_anonymous[who], method)(path)
    assert response.status_code == status
    # The back-office may send a referrer to itself; no page sends one to another site.
    admin = path.startswith("/admin/")
    assert_strict_headers(response, ("no-referrer", "same-origin") if admin else ("no-referrer",))


def test_error_pages_carry_the_strict_headers_too(client):
    refused = Client(enforce_csrf_checks=True).post("/_test/public-form/", {})
    assert refused.status_code == 403
    assert_strict_headers(refused)
    for _ in range(3):
        limited = client.post("/_test/limited/")
    assert limited.status_code == 429
    assert_strict_headers(limited)


def test_camera_and_microphone_are_allowed_only_where_a_view_asks(client):
    room = permissions_policy(client.get("/_test/room/"))
    assert room["camera"] == "(self)"
    assert room["microphone"] == "(self)"
    assert room["display-capture"] == "()"
    assert room["geolocation"] == "()"
    elsewhere = permissions_policy(client.get("/"))
    assert set(elsewhere) == set(settings.PERMISSIONS_POLICY_DEFAULT)
    assert all(value == "()" for value in elsewhere.values())


def _production_settings(**env) -> subprocess.CompletedProcess:
    script = (
        "import importlib; s = importlib.import_module('tessera.settings.production');"
        " print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE,"
        " s.SECURE_SSL_REDIRECT, s.DEBUG)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TESSERA_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**clean, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


DIRECTORY_KEY = "mRxU3Ue3Ul4a5aTpgRZk8xW1oJ7rjK1cTj4bV4YkzKg="  # a Fernet key, for these tests only


# Production refuses the legal notice's placeholders: an operator of the test, entry by entry.
LEGAL = {
    f"TESSERA_LEGAL_{name}": f"Test {name.lower()}"
    for name in (
        "OPERATOR_NAME",
        "FORM",
        "ADDRESS",
        "REGISTRATION",
        "VAT",
        "PHONE",
        "EMAIL",
        "DIRECTOR",
        "HOST_NAME",
        "HOST_ADDRESS",
        "HOST_PHONE",
    )
}


def test_production_settings_turn_on_hsts_and_secure_cookies(tmp_path):
    result = _production_settings(
        TESSERA_SECRET_KEY="x" * 50,
        TESSERA_DIRECTORY_KEYS=DIRECTORY_KEY,
        TESSERA_VAR_DIR=str(tmp_path),
        **LEGAL,
    )
    assert result.returncode == 0, result.stderr
    hsts, subdomains, secure_cookie, redirect, debug = result.stdout.split()
    assert int(hsts) > 0
    assert (subdomains, secure_cookie, redirect, debug) == ("True", "True", "True", "False")


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = _production_settings(TESSERA_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "TESSERA_SECRET_KEY" in result.stderr


def test_production_settings_refuse_to_start_without_the_directory_token_keys(tmp_path):
    # A key kept next to the database would not protect the tokens sealed with it.
    result = _production_settings(TESSERA_SECRET_KEY="x" * 50, TESSERA_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "TESSERA_DIRECTORY_KEYS" in result.stderr


def test_hsts_header_is_sent_over_https_with_production_values(client, settings):
    settings.SECURE_HSTS_SECONDS = 63072000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"

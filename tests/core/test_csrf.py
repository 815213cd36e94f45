import logging
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import signing
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from tessera.core.csrf import FORM_TOKEN_SALT
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]

ORIGIN = "http://testserver"


@pytest.fixture
def visitor():
    """A client that enforces CSRF checks, as a browser does."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def signed_in(visitor, django_user_model):
    user = UserFactory(email="member@example.org")
    visitor.force_login(user)
    return visitor


def form_token(client, url) -> str:
    page = client.get(url)
    assert page.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def assert_refused(response):
    assert response.status_code == 403
    assert "core/error.html" in [t.name for t in response.templates]
    with translation.override("fr"):
        assert gettext("This form has expired") in response.content.decode()


# --- Cookie-free routes --------------------------------------------------------------------------------


def test_cookie_free_view_that_touches_the_session_and_sets_a_cookie_sends_no_cookie(visitor, caplog):
    with caplog.at_level(logging.ERROR, logger="tessera.core.middleware"):
        response = visitor.get("/_test/chatty/")
    assert response.status_code == 200
    assert not response.cookies
    assert "Set-Cookie" not in str(response.serialize_headers())
    assert Session.objects.count() == 0  # nothing written for a cookie nobody will hold
    assert "tracker" in caplog.text  # the attempt is logged, so that it gets fixed


def test_cookie_free_view_sends_no_cookie_to_a_signed_in_person_either(signed_in):
    response = signed_in.get("/_test/chatty/")
    assert response.status_code == 200
    assert not response.cookies


def test_cookie_free_form_page_sets_no_cookie(visitor):
    response = visitor.get("/_test/public-form/")
    assert not response.cookies
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


# --- Signed form tokens --------------------------------------------------------------------------------


def test_anonymous_post_with_signed_token_and_same_origin_is_accepted(visitor):
    token = form_token(visitor, "/_test/public-form/")
    response = visitor.post("/_test/public-form/", {"csrfmiddlewaretoken": token}, headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.content == b"accepted"
    assert not response.cookies


def test_token_in_header_and_fetch_metadata_instead_of_origin_is_accepted(visitor):
    token = form_token(visitor, "/_test/public-form/")
    response = visitor.post(
        "/_test/public-form/", {}, headers={"X-CSRFToken": token, "Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 200


def test_null_origin_falls_back_to_fetch_metadata(visitor):
    # Chromium sends `Origin: null` on same-origin posts under `Referrer-Policy: no-referrer`.
    token = form_token(visitor, "/_test/public-form/")
    response = visitor.post(
        "/_test/public-form/",
        {"csrfmiddlewaretoken": token},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 200


def test_anonymous_post_on_an_ordinary_page_uses_the_signed_token_too(visitor):
    token = form_token(visitor, "/_test/form/")
    assert not visitor.get("/_test/form/").cookies
    response = visitor.post("/_test/form/", {"csrfmiddlewaretoken": token}, headers={"Origin": ORIGIN})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://testserver.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {},
    ],
    ids=[
        "other-origin",
        "null-origin",
        "null-origin-cross-site",
        "lookalike-origin",
        "cross-site-fetch",
        "no-origin",
    ],
)
def test_post_from_another_origin_is_refused(visitor, headers):
    token = form_token(visitor, "/_test/public-form/")
    response = visitor.post("/_test/public-form/", {"csrfmiddlewaretoken": token}, headers=headers)
    assert_refused(response)


def test_post_without_token_is_refused(visitor):
    assert_refused(visitor.post("/_test/public-form/", {}, headers={"Origin": ORIGIN}))


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: signing.dumps("attacker", salt=FORM_TOKEN_SALT, key="not-the-secret-key"),
        lambda token: signing.dumps("attacker", salt="another.purpose"),
        lambda token: "garbage",
    ],
    ids=["tampered", "other-key", "other-salt", "garbage"],
)
def test_forged_token_is_refused(visitor, forge):
    token = form_token(visitor, "/_test/public-form/")
    response = visitor.post(
        "/_test/public-form/", {"csrfmiddlewaretoken": forge(token)}, headers={"Origin": ORIGIN}
    )
    assert_refused(response)


def test_expired_token_is_refused(visitor, time_machine):
    time_machine.move_to("2031-05-01 10:00:00+00:00", tick=False)
    token = form_token(visitor, "/_test/public-form/")
    time_machine.shift(timedelta(seconds=settings.TESSERA_FORM_TOKEN_MAX_AGE - 5))
    assert (
        visitor.post(
            "/_test/public-form/", {"csrfmiddlewaretoken": token}, headers={"Origin": ORIGIN}
        ).status_code
        == 200
    )
    time_machine.shift(timedelta(seconds=10))
    assert_refused(
        visitor.post("/_test/public-form/", {"csrfmiddlewaretoken": token}, headers={"Origin": ORIGIN})
    )


# --- Signed-in people ----------------------------------------------------------------------------------


def test_signed_in_post_uses_the_session_csrf_token(signed_in):
    token = form_token(signed_in, "/_test/form/")
    with pytest.raises(signing.BadSignature):
        signing.loads(token, salt=FORM_TOKEN_SALT)
    response = signed_in.post("/_test/form/", {"csrfmiddlewaretoken": token}, headers={"Origin": ORIGIN})
    assert response.status_code == 200


def test_signed_in_post_with_a_signed_form_token_instead_of_the_session_one_is_refused(signed_in):
    anonymous_token = form_token(Client(), "/_test/public-form/")
    response = signed_in.post(
        "/_test/form/", {"csrfmiddlewaretoken": anonymous_token}, headers={"Origin": ORIGIN}
    )
    assert_refused(response)
    assert_refused(signed_in.post("/_test/form/", {}, headers={"Origin": ORIGIN}))


def test_signed_in_post_from_another_origin_is_refused(signed_in):
    token = form_token(signed_in, "/_test/form/")
    response = signed_in.post(
        "/_test/form/", {"csrfmiddlewaretoken": token}, headers={"Origin": "https://evil.example"}
    )
    assert_refused(response)


@pytest.mark.parametrize("secure", [False, True], ids=["http", "https"])
def test_signed_in_post_under_no_referrer_is_judged_by_fetch_metadata(signed_in, secure):
    # What Chromium sends from a page with `Referrer-Policy: no-referrer`: `Origin: null`, no Referer.
    token = form_token(signed_in, "/_test/form/")
    same_site = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    response = signed_in.post(
        "/_test/form/", {"csrfmiddlewaretoken": token}, headers=same_site, secure=secure
    )
    assert response.status_code == 200
    for headers in [{"Origin": "null", "Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}]:
        response = signed_in.post(
            "/_test/form/", {"csrfmiddlewaretoken": token}, headers=headers, secure=secure
        )
        assert_refused(response)
    assert_refused(signed_in.post("/_test/form/", {}, headers=same_site, secure=secure))


def test_signed_in_https_post_without_origin_needs_a_referer_or_fetch_metadata(signed_in):
    token = form_token(signed_in, "/_test/form/")
    data = {"csrfmiddlewaretoken": token}
    assert_refused(signed_in.post("/_test/form/", data, secure=True))
    assert_refused(
        signed_in.post("/_test/form/", data, secure=True, headers={"Sec-Fetch-Site": "cross-site"})
    )
    assert (
        signed_in.post(
            "/_test/form/", data, secure=True, headers={"Sec-Fetch-Site": "same-origin"}
        ).status_code
        == 200
    )
    referer = {"Referer": "https://testserver/_test/form/"}
    assert signed_in.post("/_test/form/", data, secure=True, headers=referer).status_code == 200


def test_signed_form_view_checks_the_signed_token_even_when_signed_in(signed_in):
    token = form_token(signed_in, "/_test/signed-form/")
    signing.loads(token, salt=FORM_TOKEN_SALT)  # a signed token, not the session's
    response = signed_in.post(
        "/_test/signed-form/", {"csrfmiddlewaretoken": token}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 200
    assert_refused(
        signed_in.post(
            "/_test/signed-form/", {"csrfmiddlewaretoken": token}, headers={"Origin": "https://evil.example"}
        )
    )


def test_signed_checks_apply_to_the_default_test_client_too(client):
    # Unlike Django's own check, so that every test posting a public form exercises the real path.
    assert_refused(client.post("/_test/public-form/", {}))

"""Cookie-free routes opened by someone who is signed in: their session lives on, no Set-Cookie is sent."""

import logging

import pytest
from django.contrib.messages import constants, get_messages
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(django_user_model):
    return UserFactory(email="member@acme.example", password="a long pass phrase 1")


def test_a_signed_in_person_reading_a_message_on_a_cookie_free_page_gets_no_cookie_and_no_error(
    member, caplog
):
    client = Client()
    client.force_login(member)
    session = client.session
    # A flash message left by the sign-in, read (and so removed from the session) on the next page.
    session["_messages"] = f'[["__json_message",0,{constants.SUCCESS},"You are signed in."]]'
    session.save()
    with caplog.at_level(logging.ERROR, logger="tessera.core.middleware"):
        response = client.get("/en/m/new/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert caplog.records == []
    # The session itself was kept: the person is still signed in, and the message was shown once.
    assert client.get("/en/m/new/").wsgi_request.user == member
    assert list(get_messages(client.get("/en/m/new/").wsgi_request)) == []


def test_a_cookie_other_than_the_session_on_a_cookie_free_page_is_stripped_and_logged(member, caplog):
    from django.urls import path

    from tessera.core.http import cookie_free

    client = Client()
    client.force_login(member)
    response_cookie = {}

    @cookie_free
    def view(request):
        from django.http import HttpResponse

        response = HttpResponse("ok")
        response.set_cookie("tracker", "1")
        response_cookie["set"] = True
        return response

    from django.test import override_settings

    urlconf = type("urls", (), {"urlpatterns": [path("t", view)]})
    with (
        override_settings(ROOT_URLCONF=urlconf),
        caplog.at_level(logging.ERROR, logger="tessera.core.middleware"),
    ):
        response = client.get("/t")
    assert response_cookie["set"] and not response.cookies
    assert [r.getMessage() for r in caplog.records] == ["cookie-free route /t tried to set ['tracker']"]

"""Helpers of the connection tests: an administrator's session, a trip to the provider and back."""

import json
from urllib.parse import parse_qs, urlsplit

import requests
from django.contrib.sessions.backends.db import SessionStore

from tessera.core.models import SecurityEvent
from tessera.directory.services import connections

REDIRECT_URI = "http://testserver/directory/google/callback/"
MS_REDIRECT_URI = "http://testserver/directory/microsoft/callback/"


def query_of(url: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def consent(url: str) -> dict:
    """The browser goes to the provider, which consents at once and redirects back: the callback's query."""
    back = requests.get(url, allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    return query_of(back.headers["Location"])


def session_of(user) -> SessionStore:
    """The server-side session of the signed-in administrator (the database engine, as in production)."""
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session.create()
    return session


def google_connect(*, organisation, actor, session=None):
    """Connect Google Workspace the way the pages do; returns (connection, callback query)."""
    session = session or session_of(actor)
    url = connections.google_connect_url(
        organisation=organisation, actor=actor, redirect_uri=REDIRECT_URI, session=session
    )
    query = consent(url)
    connection = connections.google_connect_complete(actor=actor, session=session, query=query)
    return connection, query


def microsoft_connect(*, organisation, actor, session=None):
    session = session or session_of(actor)
    url = connections.microsoft_connect_url(
        organisation=organisation, actor=actor, redirect_uri=MS_REDIRECT_URI, session=session
    )
    query = consent(url)
    connection = connections.microsoft_connect_complete(actor=actor, session=session, query=query)
    return connection, query


def events(action: str) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(action=action).order_by("seq"))


def log_text() -> str:
    """Everything the security log holds, to prove that no token is in it."""
    return json.dumps(list(SecurityEvent.objects.values("action", "email", "data")), default=str)

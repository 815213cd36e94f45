"""No credential sits in clear in the outbox: every email carrying a tokenised link is sealed.

The outbox refuses an unsealed credential link (tessera.core.outbox.credential_check), so an email added
later fails here and in its own tests until it is queued `confidential`; the flows test below also checks
every email the product sends with an independent rule: any long random-looking link part is a secret.
"""

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from tessera.accounts import services as accounts_services
from tessera.accounts.models import User
from tessera.cards import services as cards
from tessera.core import outbox, sealing
from tessera.core.models import OutboxMessage
from tessera.meetings import services as meetings
from tessera.privacy import services as privacy
from tests.accounts.conftest import BrowserLikeClient
from tests.accounts.support import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CREDENTIAL_LINKS = [
    "http://testserver/accounts/password/reset/key/1x-c9ab1-4f0e9b1d2a3c4e5f6a7b/",
    "http://testserver/en/accounts/confirm-email/MQ:1tXyZa:abcdefghijklmnopqrstuvwxyz012/",
    "http://testserver/privacy/rights/link/Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5/",
    "http://testserver/en/cards/invitation/Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5/",
    "https://meet.example/m/room123#inviteTokenXYZ123.s3cr3tRoomKeyMaterial_abcdefghijklmnop",
]
PLAIN_LINKS = [
    "http://testserver/accounts/password/reset/",
    "http://testserver/c/ada-lovelace",
    "http://testserver/en/privacy/rights/",
    "http://testserver/privacy/unsubscribe/Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5/",
    "https://www.cnil.fr/fr/plaintes",
]


def _queue(body: str, *, confidential=False, html="", attachments=()):
    with transaction.atomic():
        return outbox.email_queue(
            to="a@example.org",
            subject="s",
            body_text=body,
            body_html=html,
            kind="test",
            attachments=attachments,
            confidential=confidential,
        )


@pytest.mark.parametrize("link", CREDENTIAL_LINKS)
def test_a_credential_link_is_refused_unless_the_email_is_sealed(link):
    for body, html in [
        (f"Open {link}.", ""),
        ("See the HTML part", f'<a href="{link.replace("&", "&amp;")}">x</a>'),
    ]:
        with pytest.raises(outbox.UnsealedCredential):
            _queue(body, html=html)
    with pytest.raises(outbox.UnsealedCredential):
        _queue("Your calendar file", attachments=(("e.ics", f"URL:{link}\r\n".encode(), "text/calendar"),))
    assert not OutboxMessage.objects.exists()
    sealed = _queue(f"Open {link}", confidential=True)
    assert sealed.confidential and link not in OutboxMessage.objects.get().body_text


@pytest.mark.parametrize("link", PLAIN_LINKS)
def test_links_that_grant_nothing_are_queued_in_clear(link):
    assert _queue(f"Open {link}").body_text == f"Open {link}"


def test_once_sent_a_sealed_email_is_kept_without_the_token_of_its_links(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    link = CREDENTIAL_LINKS[0]
    message = _queue(f"Reset: {link}\n", html=f'<a href="{link}">{link}</a>', confidential=True)
    assert outbox.outbox_deliver(message_id=message.pk, now=timezone.now() + timedelta(days=1))
    stored = OutboxMessage.objects.get(pk=message.pk)
    assert not stored.confidential
    assert "4f0e9b1d2a3c4e5f6a7b" not in stored.body_text + stored.body_html
    assert "http://testserver/accounts/password/reset/key/…-…/" in stored.body_text


# Path parameters that name a record, not a secret: a link made of them grants nothing by itself (a
# sign-in, an organisation key or a fragment secret is still needed). A new route's parameter must be
# listed here, or named like a credential (tessera.core.outbox.CREDENTIAL_PARAMETERS) so the outbox seals
# every email that carries it.
RECORD_PARAMETERS = {
    "action",
    "app_label",
    "attachment_id",
    "contact_id",
    "content_type_id",
    "event_id",
    "group_id",
    "id",
    "kind",
    "member_id",
    "name",
    "object_id",
    "org_slug",
    "pk",
    "provider_id",
    "public_id",
    "room_id",
    "run_id",
    "scim_id",
    "slug",
    "url",
    "urn",
    "version",
    "webhook_id",
}


def _route_parameters() -> dict[str, str]:
    found = {}

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
                continue
            for converted, regex in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route):
                found.setdefault(converted or regex, route)

    walk(get_resolver().url_patterns, "")
    return found


def test_every_route_parameter_is_either_a_record_name_or_a_credential_the_outbox_seals():
    parameters = _route_parameters()
    assert {"token", "key", "uidb36"} <= set(parameters)
    unclassified = {
        name: route
        for name, route in parameters.items()
        if name not in RECORD_PARAMETERS | outbox.CREDENTIAL_PARAMETERS
    }
    assert unclassified == {}


# --- Every email flow of the product ------------------------------------------------------------------

# An independent rule for "a link that carries a secret": a fragment, or a path segment of 20 or more
# random-looking characters (tokens are 43; a UUID names a record behind a sign-in, not a secret).
URL = re.compile(r"https?://[^\s<>\"']+")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _random_looking(part: str) -> bool:
    return bool(re.search(r"\d", part) or (re.search(r"[a-z]", part) and re.search(r"[A-Z]", part)))


def _looks_tokenised(url: str) -> bool:
    path, _hash, fragment = url.partition("#")
    if len(fragment) >= 16:
        return True
    segments = path.split("://", 1)[1].split("/")
    # Whole segments (a URL-safe token may hold dashes) and their dash-separated parts (uid-key pairs).
    parts = segments + [piece for segment in segments for piece in segment.split("-")]
    return any(
        len(part) >= 20 and _random_looking(part) and not UUID.match(part) and "unsubscribe" not in path
        for part in parts
    )


def _every_flow(django_capture_on_commit_callbacks):
    client = BrowserLikeClient()
    signup = {
        "full_name": "Grace",
        "email": "grace@example.org",
        "age_confirmed": "on",
        "terms_accepted": "on",
    }
    signup |= {"password1": PASSWORD, "password2": PASSWORD}
    assert client.post("/accounts/signup/", signup).status_code == 302
    user = UserFactory(email="ada@example.org")
    assert client.post("/en/accounts/password/reset/", {"email": user.email}).status_code == 302
    assert client.post("/accounts/password/reset/", {"email": "nobody@example.org"}).status_code == 302
    privacy.rights_link_request(email=user.email, language="en")
    privacy.rights_link_request(email="nobody@example.org", language="fr")
    organisation = accounts_services.organisation_create(owner=user, name="Alpha")
    cards.invitation_create(organisation=organisation, email="new@alpha.example", invited_by=user)
    created = meetings.event_create(
        title="Point",
        starts_at=timezone.now() + timedelta(days=2),
        time_zone="Europe/Paris",
        duration_minutes=30,
        organiser_email="organiser@example.org",
        invitees=["ben@example.com"],
        age_confirmed=True,
    )
    meetings.event_verify(event=created.event, room_secret=created.room_secret)
    assert User.objects.filter(email="grace@example.org").exists()


def test_every_email_that_carries_a_tokenised_link_is_sealed(django_capture_on_commit_callbacks, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # nothing sent: still queued
    with django_capture_on_commit_callbacks(execute=False):
        _every_flow(django_capture_on_commit_callbacks)
    messages = list(OutboxMessage.objects.prefetch_related("attachments"))
    tokenised_kinds = set()
    for message in messages:
        parts = [sealing.open_text(message.body_text), sealing.open_text(message.body_html)]
        parts += [
            sealing.open_bytes(bytes(a.content)).decode("utf-8", "replace") for a in message.attachments.all()
        ]
        urls = [url for part in parts for url in URL.findall(part.replace("\r\n ", ""))]
        if any(_looks_tokenised(url) for url in urls):
            tokenised_kinds.add(message.kind)
            assert message.confidential, f"{message.kind} carries a tokenised link and is not sealed"
            assert not any(
                _looks_tokenised(url) for url in URL.findall(message.body_text + message.body_html)
            )
    # The flows ran: each of these carries a credential.
    assert {
        "email_confirmation_signup",
        "password_reset_key",
        "privacy_rights_link",
        "cards_invitation",
        "meetings_invitation",
    } <= tokenised_kinds, tokenised_kinds


def test_the_back_office_never_shows_a_sealed_email(client, settings, tmp_path):
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Permission

    staff = UserFactory(email="support@operator.example", is_staff=True)
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "unused"})
    staff.user_permissions.set(Permission.objects.filter(codename__endswith="_outboxmessage"))
    client.force_login(staff)
    link = CREDENTIAL_LINKS[2]
    with override_settings(EMAIL_PORT=1):  # the relay is down: the message waits, sealed
        message = _queue(
            f"Your link: {link}",
            html=f'<a href="{link}">open</a>',
            confidential=True,
            attachments=(("link.txt", link.encode(), "text/plain"),),
        )
    secret = link.rstrip("/").rsplit("/", 1)[1]
    attachment = message.attachments.get()
    pages = [
        client.get("/en/admin/core/outboxmessage/"),
        client.get(f"/en/admin/core/outboxmessage/{message.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert secret not in page.content.decode() and "sealed:v1:" not in page.content.decode()
    # Nor can it be found by searching for its token.
    found = client.get("/admin/core/outboxmessage/", {"q": secret}).content.decode()
    assert f"/admin/core/outboxmessage/{message.pk}/change/" not in found
    assert "Sealed" in pages[1].content.decode()
    assert client.get(f"/admin/core/outboxmessage/{message.pk}/html/").status_code == 404
    assert (
        client.get(f"/admin/core/outboxmessage/{message.pk}/attachments/{attachment.pk}/").status_code == 404
    )

    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    assert outbox.outbox_deliver(message_id=message.pk, now=timezone.now() + timedelta(days=1))
    sent = client.get(f"/admin/core/outboxmessage/{message.pk}/change/").content.decode()
    assert "Your link: http://testserver/privacy/rights/link/…/" in sent and secret not in sent
    html = client.get(f"/admin/core/outboxmessage/{message.pk}/html/")
    assert html.status_code == 200 and secret not in html.content.decode()

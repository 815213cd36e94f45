"""A restriction of processing (GDPR Art. 18) of a card owner's address freezes the card until it is lifted."""

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.utils import translation

from tessera.cards import analytics, fastpath, services
from tessera.cards.models import CardDailyStat, Lead, WebhookDelivery
from tessera.core.models import OutboxMessage
from tessera.privacy.models import ProcessingLimit
from tessera.privacy.services import limit_add, limit_lift

from .conftest import _Receiver, jpeg_bytes, lead_for, solved_challenge
from .test_exchange import _post
from .test_fastpath import asgi

RESTRICTION = ProcessingLimit.Kind.RESTRICTION


def restrict(email):
    return limit_add(email=email, kind=RESTRICTION, reason="accuracy contested")


def lift(email):
    return limit_lift(email=email, kind=RESTRICTION)


@pytest.fixture(autouse=True)
def _fresh_pages():
    fastpath.pages_invalidate()
    yield
    fastpath.pages_invalidate()


def _public_paths(card):
    return ("", "/vcard", "/qr.svg", "/qr.png", "/card.ndef", f"/photo-{card.photo_version}.jpg")


def test_a_restricted_owners_card_answers_the_neutral_404_of_a_deactivated_card(client, card, member):
    card = services.card_photo_set(card=card, data=jpeg_bytes(), filename="me.jpg")
    assert all(client.get(f"/c/{card.slug}{p}").status_code == 200 for p in _public_paths(card))
    neutral = client.get("/c/nosuchcard").content
    restrict(member.email)
    for path in _public_paths(card):
        response = client.get(f"/c/{card.slug}{path}")
        assert response.status_code == 404, path
        assert b"Bob" not in response.content
    assert client.get(f"/c/{card.slug}").content == neutral  # nothing tells it apart from an unknown card
    challenge = client.get(f"/c/{card.slug}/exchange/challenge", HTTP_SEC_FETCH_SITE="same-origin")
    assert challenge.status_code == 404
    lift(member.email)
    assert all(client.get(f"/c/{card.slug}{p}").status_code == 200 for p in _public_paths(card))


def test_a_restriction_of_another_verified_address_of_the_owner_counts_too(client, card, member):
    EmailAddress.objects.create(user=member, email="bob.private@example.net", verified=True, primary=False)
    restrict("Bob.Private@example.net")
    assert client.get(f"/c/{card.slug}").status_code == 404
    lift("bob.private@example.net")
    assert client.get(f"/c/{card.slug}").status_code == 200


def test_a_restriction_of_an_address_the_owner_never_confirmed_does_not_hide_the_card(client, card, member):
    # Whoever holds a mailbox the owner added by mistake proves nothing about the owner.
    EmailAddress.objects.create(user=member, email="bob.typo@example.net", verified=False, primary=False)
    restrict("bob.typo@example.net")
    assert client.get(f"/c/{card.slug}").status_code == 200


def test_the_fast_path_hides_the_card_on_the_next_request_and_shows_it_after_the_lift(card, member):
    assert asgi("GET", f"/c/{card.slug}").status == 200
    assert asgi("GET", f"/c/{card.slug}").status == 200  # from the pre-rendered page
    restrict(member.email)
    gone = asgi("GET", f"/c/{card.slug}")
    assert gone.status == 404 and b"Bob" not in gone.body
    assert asgi("HEAD", f"/c/{card.slug}").status == 404
    lift(member.email)  # the privacy core sends no signal: a 404 is never kept, so the next request sees it
    assert asgi("GET", f"/c/{card.slug}").status == 200


def test_a_restriction_made_by_another_process_shows_after_the_ttl(card, member, settings, monkeypatch):
    settings.TESSERA_CARDS_PAGE_TTL = 2
    now = [1000.0]
    monkeypatch.setattr(fastpath, "clock", lambda: now[0])
    asgi("GET", f"/c/{card.slug}")
    # Another process added it: this one received no signal.
    ProcessingLimit.objects.bulk_create([ProcessingLimit(email=member.email, kind=RESTRICTION)])
    now[0] += 1.5
    assert asgi("GET", f"/c/{card.slug}").status == 200
    now[0] += 0.6
    assert asgi("GET", f"/c/{card.slug}").status == 404


def test_the_exchange_refuses_new_leads_while_restricted(client, card, member):
    token_page = client.get(f"/c/{card.slug}/exchange/challenge", HTTP_SEC_FETCH_SITE="same-origin").json()
    restrict(member.email)
    response = client.post(
        f"/c/{card.slug}/exchange",
        {"csrfmiddlewaretoken": token_page["token"], "name": "V", "email": "v@example.net", "consent": "on"},
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 404
    challenge, nonce = solved_challenge(card)
    # The public page left its language active in this thread: the message is read in English.
    with translation.override("en"), pytest.raises(ValidationError, match="does not accept"):
        services.lead_capture(
            card=card,
            data={"name": "V", "email": "v@example.net", "consent": True},
            challenge=challenge,
            nonce=nonce,
        )
    assert Lead.objects.count() == 0
    assert not OutboxMessage.objects.filter(kind__startswith="cards_exchange").exists()
    lift(member.email)
    assert _post(client, card).status_code == 200
    assert Lead.objects.count() == 1


def _hooked(org):
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")


def test_lead_webhooks_are_held_while_restricted_and_delivered_after_the_lift(card, org, member, receiver):
    _Receiver.fail_first = 0
    _hooked(org)
    services.webhook_create(organisation=org, url=receiver)
    lead_for(card, name="Before")
    delivery = WebhookDelivery.objects.get()
    restrict(member.email)
    assert services.webhook_deliver(delivery_id=delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.HELD and delivery.attempts == 0
    assert services.webhook_deliver_due() == 0 and _Receiver.received == []
    lift(member.email)
    assert services.webhook_deliver_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert [b"Before" in body for _headers, body in _Receiver.received] == [True]


def test_a_restricted_visitors_lead_reaches_no_webhook_nor_the_api_until_lifted(
    client,
    card,
    org,
    receiver,
    api_key,
):
    _Receiver.fail_first = 0
    _hooked(org)
    services.webhook_create(organisation=org, url=receiver)
    lead_for(card, email="vera@example.net", name="Vera")
    lead_for(card, email="other@example.net", name="Otto")
    restrict("vera@example.net")
    assert services.webhook_deliver_due() == 1  # Otto's
    assert [b"Otto" in body for _h, body in _Receiver.received] == [True]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    assert [r["name"] for r in client.get("/api/v1/cards/leads", **auth).json()] == ["Otto"]
    lift("vera@example.net")
    assert services.webhook_deliver_due() == 1
    assert sorted(r["name"] for r in client.get("/api/v1/cards/leads", **auth).json()) == ["Otto", "Vera"]


def test_the_api_and_the_organisation_page_do_not_expose_a_restricted_owners_leads(
    client, card, org, member, admin_user, api_key
):
    _hooked(org)
    lead_for(card, name="Vera Visitor")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    assert [r["name"] for r in client.get("/api/v1/cards/leads", **auth).json()] == ["Vera Visitor"]
    restrict(member.email)
    assert client.get("/api/v1/cards/leads", **auth).json() == []
    client.force_login(admin_user)
    assert "Vera" not in client.get(f"/cards/org/{org.slug}/leads/").content.decode()
    lead = Lead.objects.get()
    assert client.get(f"/cards/leads/{lead.pk}/").status_code == 404
    # The owner still reaches their own data (access is a right a restriction does not suspend).
    client.force_login(member)
    assert "Vera" in client.get("/cards/leads/").content.decode()
    lift(member.email)
    assert [r["name"] for r in client.get("/api/v1/cards/leads", **auth).json()] == ["Vera Visitor"]


def test_views_are_not_counted_while_restricted(client, card, member):
    restrict(member.email)
    client.get(f"/c/{card.slug}?s=qr")
    client.get(f"/c/{card.slug}/vcard")
    # Views another process's fast path answered before it saw the restriction are dropped at the flush.
    analytics.stat_add(card_id=card.pk, counter="views_nfc")
    analytics.stats_flush()
    assert not CardDailyStat.objects.filter(card=card).exists()
    card.refresh_from_db()
    assert card.last_viewed_at is None
    lift(member.email)
    client.get(f"/c/{card.slug}?s=qr")
    analytics.stats_flush()
    assert CardDailyStat.objects.get(card=card).views_qr == 1

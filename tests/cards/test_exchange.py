import hashlib
import logging
import re
import time

import pytest
from django.core.exceptions import ValidationError

from tessera.cards import services
from tessera.cards.models import Lead, WebhookDelivery
from tessera.core import pow
from tessera.core.models import OutboxMessage, SpentChallenge

from .conftest import lead_for, solved_challenge


def _form(client, card):
    """What the page's script does when the visitor opens the form: fetch a token and a challenge."""
    html = client.get(f"/c/{card.slug}").content.decode()
    url = re.search(r'data-challenge-url="([^"]+)"', html).group(1)
    response = client.get(url, HTTP_SEC_FETCH_SITE="same-origin")
    assert response.status_code == 200 and not response.cookies
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert data["bits"] == pow.difficulty()
    return data["token"], data["challenge"]


def _post(client, card, address="127.0.0.1", **fields):
    token, challenge = _form(client, card)
    data = {
        "csrfmiddlewaretoken": token,
        "challenge": challenge,
        "nonce": pow.solve(challenge),
        "name": "Vera Visitor",
        "email": "vera@example.net",
        "consent": "on",
        **fields,
    }
    return client.post(f"/c/{card.slug}/exchange", data, HTTP_ORIGIN="http://testserver", REMOTE_ADDR=address)


def test_exchange_stores_the_lead_and_queues_both_emails(client, card, member):
    response = _post(client, card, company="Acme", message="Hello <b>there</b>")
    assert response.status_code == 200, response.content.decode()[:2000]
    assert not response.cookies
    lead = Lead.objects.get()
    assert (lead.owner, lead.card, lead.company) == (member, card, "Acme")
    assert lead.consent_version == services.LEAD_CONSENT_VERSION
    visitor_mail = OutboxMessage.objects.get(kind="cards_exchange_visitor")
    assert visitor_mail.recipient == "vera@example.net"
    attachment = visitor_mail.attachments.get()
    assert attachment.filename.endswith(".vcf") and b"BEGIN:VCARD" in bytes(attachment.content)
    assert f"/c/{card.slug}" in visitor_mail.body_text
    owner_mail = OutboxMessage.objects.get(kind="cards_exchange_owner")
    assert owner_mail.recipient == member.email
    assert "Hello <b>there</b>" in owner_mail.body_text
    assert "&lt;b&gt;" in owner_mail.body_html and "<b>there" not in owner_mail.body_html


def test_missing_consent_or_bad_email_leaves_no_record(client, card):
    response = _post(client, card, consent="", email="not-an-email")
    assert response.status_code == 400
    html = response.content.decode()
    assert "valid email" in html and "tick the box" in html
    assert (
        Lead.objects.count() == 0
        and not OutboxMessage.objects.filter(kind__startswith="cards_exchange").exists()
    )
    assert SpentChallenge.objects.count() == 0


def test_forged_proof_of_work_is_refused(client, card):
    token, challenge = _form(client, card)
    base = {"csrfmiddlewaretoken": token, "name": "V", "email": "v@example.net", "consent": "on"}
    # A nonce that does not meet the difficulty.
    bad_nonce = next(
        str(n)
        for n in range(1000)
        if pow.leading_zero_bits(__import__("hashlib").sha256(f"{challenge}:{n}".encode()).digest()) < 8
    )
    forged = challenge[:-3] + ("AAA" if not challenge.endswith("AAA") else "BBB")
    for data in (
        {"challenge": challenge, "nonce": bad_nonce},
        {"challenge": forged, "nonce": pow.solve(challenge)},
        {"challenge": challenge, "nonce": "abc"},
        {"challenge": "", "nonce": ""},
    ):
        response = client.post(f"/c/{card.slug}/exchange", {**base, **data}, HTTP_ORIGIN="http://testserver")
        assert response.status_code == 400
        assert "anti-robot" in response.content.decode()
    assert (
        Lead.objects.count() == 0
        and not OutboxMessage.objects.filter(kind__startswith="cards_exchange").exists()
    )


def test_replayed_challenge_is_refused_over_http(client, card):
    token, challenge = _form(client, card)
    data = {
        "csrfmiddlewaretoken": token,
        "challenge": challenge,
        "nonce": pow.solve(challenge),
        "name": "Vera Visitor",
        "email": "vera@example.net",
        "consent": "on",
    }
    first = client.post(f"/c/{card.slug}/exchange", data, HTTP_ORIGIN="http://testserver")
    assert first.status_code == 200
    again = client.post(f"/c/{card.slug}/exchange", data, HTTP_ORIGIN="http://testserver")
    assert again.status_code == 400 and "already sent" in again.content.decode()
    # The refused page carries a fresh challenge and token, so the visitor can try again.
    html = again.content.decode()
    fresh = re.search(r'name="challenge" value="([^"]+)"', html).group(1)
    assert fresh != challenge and re.search(r'name="csrfmiddlewaretoken" value="[^"]+"', html)
    assert Lead.objects.count() == 1


def test_challenge_is_single_use_scoped_and_expires(card, other_card):
    challenge, nonce = solved_challenge(card)
    services.lead_capture(
        card=card,
        data={"name": "A", "email": "a@example.net", "consent": True},
        challenge=challenge,
        nonce=nonce,
    )
    with pytest.raises(ValidationError, match="already sent"):
        services.lead_capture(
            card=card,
            data={"name": "A", "email": "a@example.net", "consent": True},
            challenge=challenge,
            nonce=nonce,
        )
    challenge, nonce = solved_challenge(card)
    with pytest.raises(ValidationError, match="anti-robot"):
        services.lead_capture(
            card=other_card,
            data={"name": "A", "email": "a@example.net", "consent": True},
            challenge=challenge,
            nonce=nonce,
        )
    old = pow.challenge_issue(scope=f"card:{card.slug}", now=time.time() - 2 * pow.lifetime())
    with pytest.raises(pow.ProofOfWorkError, match="expired"):
        pow.challenge_redeem(challenge=old, nonce=pow.solve(old), scope=f"card:{card.slug}")
    assert Lead.objects.count() == 1


def test_form_flood_is_rate_limited(client, card):
    statuses = [_post(client, card, email=f"v{i}@example.net").status_code for i in range(7)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    assert Lead.objects.count() == 5


def test_post_without_form_token_or_from_another_origin_is_refused(client, card):
    token, challenge = _form(client, card)
    data = {
        "challenge": challenge,
        "nonce": pow.solve(challenge),
        "name": "V",
        "email": "v@example.net",
        "consent": "on",
    }
    assert client.post(f"/c/{card.slug}/exchange", data, HTTP_ORIGIN="http://testserver").status_code == 403
    data["csrfmiddlewaretoken"] = token
    assert (
        client.post(f"/c/{card.slug}/exchange", data, HTTP_ORIGIN="https://evil.example").status_code == 403
    )
    assert Lead.objects.count() == 0


def test_lead_to_an_organisation_that_shares_leads_queues_its_webhook(card, org):
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    hook = services.webhook_create(organisation=org, url="https://crm.alpha.example/hook")
    lead = lead_for(card)
    delivery = WebhookDelivery.objects.get()
    assert delivery.webhook == hook and delivery.payload["lead"]["id"] == str(lead.pk)


def test_no_webhook_when_the_organisation_keeps_leads_private(card, org):
    # A hook needs shared leads to be added; the organisation then took the sharing back.
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    services.webhook_create(organisation=org, url="https://crm.alpha.example/hook")
    services.cards_settings_update(organisation=org, admins_see_leads=False, inactive_action="delete")
    lead_for(card)
    assert WebhookDelivery.objects.count() == 0


def test_each_exchange_counts_in_the_daily_exchanges_counter(
    client, card, django_capture_on_commit_callbacks
):
    from tessera.cards.analytics import stats_flush
    from tessera.cards.models import CardDailyStat

    with django_capture_on_commit_callbacks(execute=True):  # counted once the lead is committed
        assert _post(client, card).status_code == 200
        assert _post(client, card, email="w@example.net").status_code == 200
        _post(client, card, consent="")  # refused: not an exchange
    stats_flush()
    row = CardDailyStat.objects.get(card=card)
    assert row.exchanges == 2 and Lead.objects.count() == 2


def test_junk_posts_without_a_proof_of_work_do_not_close_the_form(client, card):
    """40 posts from 40 addresses with a form token but no proof of work, then a real visitor gets through."""
    for i in range(40):
        token, challenge = _form(client, card)
        # A nonce that fails the difficulty ("0" itself meets it for about one challenge in 2**bits).
        junk_nonce = next(
            str(n)
            for n in range(1000)
            if pow.leading_zero_bits(hashlib.sha256(f"{challenge}:{n}".encode()).digest()) < pow.difficulty()
        )
        junk = {
            "csrfmiddlewaretoken": token,
            "challenge": challenge,
            "nonce": junk_nonce,
            "name": "x",
            "consent": "on",
        }
        response = client.post(
            f"/c/{card.slug}/exchange",
            {**junk, "email": f"j{i}@example.net"},
            HTTP_ORIGIN="http://testserver",
            REMOTE_ADDR=f"198.51.100.{i + 1}",
        )
        assert response.status_code == 400
    assert _post(client, card).status_code == 200
    assert Lead.objects.count() == 1


def test_the_card_limit_counts_posts_with_a_valid_proof_of_work(client, card, settings):
    settings.TESSERA_RATE_LIMITS = {"cards.exchange.card": (2, 3600)}
    statuses = [
        _post(client, card, email=f"v{i}@example.net", address=f"203.0.113.{i + 1}").status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert Lead.objects.count() == 2


def test_addresses_of_one_ipv6_64_share_the_per_address_limit(client, card):
    """A client picking a new address of its /64 for every post is one client; the next /64 is another."""
    statuses = [
        _post(client, card, email=f"v{i}@example.net", address=f"2001:db8:0:1::{i + 1:x}").status_code
        for i in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    assert _post(client, card, address="2001:db8:0:2::1").status_code == 200


def test_a_webhook_delivery_logs_no_record_with_its_url(card, org, receiver, caplog):
    """A receiver's URL may carry its secret: httpx must not write it to the logs on any attempt."""
    from datetime import timedelta

    from django.utils import timezone

    caplog.set_level(logging.DEBUG)
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    services.webhook_create(organisation=org, url=f"{receiver}/token-5ecret-in-the-path")
    lead_for(card)
    delivery = WebhookDelivery.objects.get()
    assert services.webhook_deliver(delivery_id=delivery.pk) is False  # the receiver answers 503 once
    assert services.webhook_deliver(delivery_id=delivery.pk, now=timezone.now() + timedelta(hours=1))
    assert not [r for r in caplog.records if "5ecret" in r.getMessage() or "/hook" in r.getMessage()]

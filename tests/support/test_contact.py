"""The contact form: every field of the seed's list, the proof of work, no cookie, and what is stored."""

import pytest

from tessera.core import sealing
from tessera.core.models import OutboxMessage, SpentChallenge
from tessera.support.models import Ticket, TicketLink, TicketMessage

from .conftest import FIELDS, post, sent_link, solved

pytestmark = pytest.mark.django_db


def nothing_stored():
    assert Ticket.objects.count() == 0
    assert TicketMessage.objects.count() == 0
    assert TicketLink.objects.count() == 0
    assert not OutboxMessage.objects.filter(kind__startswith="support_").exists()


@pytest.mark.parametrize("path", ["/contact/", "/en/contact/"])
def test_the_form_sets_no_cookie_and_is_small(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 200
    assert not response.cookies and "Set-Cookie" not in response
    assert len(response.content) < 100_000
    html = response.content.decode()
    for name in ("first_name", "last_name", "phone", "email", "company", "subject", "message"):
        assert f'name="{name}"' in html
    assert 'name="challenge"' in html and "tessera/js/support/contact.js" in html
    assert f'<html lang="{"fr" if path == "/contact/" else "en"}">' in html


def test_a_message_becomes_a_ticket_with_a_sealed_confirmation_in_the_page_language(anonymous):
    response = post(anonymous, "/en/contact/", solved())
    assert response.status_code == 200 and not response.cookies
    assert "camille@example.net" in response.content.decode()
    ticket = Ticket.objects.get()
    assert (ticket.first_name, ticket.last_name, ticket.company) == ("Camille", "Durand", "Durand SARL")
    assert ticket.phone == "+33612345678" and ticket.language == "en" and ticket.status == "new"
    assert ticket.messages.get().body == FIELDS["message"]
    email = OutboxMessage.objects.get(kind="support_received")
    assert email.confidential and email.recipient == "camille@example.net"
    assert "#" not in email.body_text  # sealed: the link's token is not readable in the database
    opened = sealing.open_text(email.body_text)
    assert "We received your message" in email.subject and "Follow your request" in opened
    path, token = sent_link("support_received", "camille@example.net")
    assert path == f"/en/contact/t/{ticket.public_id}"
    assert token not in str(list(TicketLink.objects.values_list("token_hash", flat=True)))


def test_the_confirmation_is_in_french_from_the_french_page(anonymous):
    assert post(anonymous, "/contact/", solved()).status_code == 200
    email = OutboxMessage.objects.get(kind="support_received")
    assert email.headers["Content-Language"] == "fr"
    assert sent_link("support_received", FIELDS["email"])[0].startswith("/contact/t/")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"message": ""}, "message"),
        ({"message": "   \n  "}, "message"),
        ({"message": "x" * 10_001}, "message"),
        ({"email": "not an address"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"first_name": ""}, "first_name"),
        ({"subject": ""}, "subject"),
    ],
)
def test_bad_fields_are_refused_clearly_and_nothing_is_stored(anonymous, overrides, field):
    data = solved(**overrides)
    response = post(anonymous, "/en/contact/", data)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()
    nothing_stored()
    # The proof of work was not spent: nothing of the post was kept.
    assert SpentChallenge.objects.count() == 0


def test_a_message_of_exactly_10000_characters_is_accepted(anonymous):
    assert post(anonymous, "/en/contact/", solved(message="é" * 10_000)).status_code == 200
    assert len(TicketMessage.objects.get().body) == 10_000


@pytest.mark.parametrize(
    "overrides",
    [{"nonce": ""}, {"challenge": "", "nonce": ""}, {"nonce": "0"}, {"challenge": "forged:signature"}],
    ids=["missing nonce", "missing challenge", "wrong nonce", "forged challenge"],
)
def test_a_missing_or_invalid_proof_of_work_is_refused_and_nothing_is_stored(anonymous, overrides):
    data = solved()
    if overrides.get("nonce") == "0" and data["nonce"] == "0":
        data["nonce"] = "1"
    else:
        data.update(overrides)
    response = post(anonymous, "/en/contact/", data)
    assert response.status_code == 400
    assert "anti-robot check failed" in response.content.decode()
    nothing_stored()


def test_a_replayed_proof_of_work_is_refused_and_stores_nothing_more(anonymous):
    data = solved()
    assert post(anonymous, "/en/contact/", data).status_code == 200
    replay = post(anonymous, "/en/contact/", {**data, "message": "Again"})
    assert replay.status_code == 400
    assert "already sent" in replay.content.decode()
    assert Ticket.objects.count() == 1 and TicketMessage.objects.count() == 1
    assert OutboxMessage.objects.filter(kind="support_received").count() == 1


def test_a_card_challenge_does_not_open_the_contact_form(anonymous):
    from tessera.core import pow

    challenge = pow.challenge_issue(scope="card:someone")
    response = post(
        anonymous, "/en/contact/", {**solved(), "challenge": challenge, "nonce": pow.solve(challenge)}
    )
    assert response.status_code == 400
    nothing_stored()


def test_a_refused_post_gets_a_fresh_challenge_and_keeps_what_was_typed(anonymous):
    data = solved(message="")
    html = post(anonymous, "/en/contact/", data).content.decode()
    assert data["challenge"] not in html
    assert 'value="Un devis pour 40 cartes"' in html


def test_a_post_from_another_site_is_refused(anonymous):
    response = anonymous.post("/en/contact/", solved(), HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    nothing_stored()


def test_the_form_is_rate_limited(anonymous, settings):
    settings.TESSERA_RATE_LIMITS = {"support.contact": (2, 3600)}
    for _ in range(2):
        post(anonymous, "/en/contact/", solved(message=""))
    response = post(anonymous, "/en/contact/", solved())
    assert response.status_code == 429 and response["Retry-After"]
    nothing_stored()


def test_the_assistant_can_open_the_form_prefilled_by_link_or_by_post(anonymous):
    html = anonymous.get(
        "/en/contact/", {"q": "How long do you keep my card?", "subject": "Retention"}
    ).content
    assert b"How long do you keep my card?</textarea>" in html and b'value="Retention"' in html
    # A post keeps the question out of addresses and logs; it needs no form token and stores nothing.
    response = anonymous.post("/contact/prefill/", {"q": "Combien de temps gardez-vous ma carte ?"})
    assert response.status_code == 200 and not response.cookies
    assert "Combien de temps gardez-vous ma carte ?</textarea>" in response.content.decode()
    assert anonymous.post("/contact/prefill/", {"q": "x" * 20_000}).status_code == 200
    nothing_stored()

"""The sender's follow-up link: no cookie, no account, only a hash stored, and nothing for a forged link."""

import pytest

from tessera.core.models import OutboxMessage
from tessera.support.models import Ticket, TicketMessage

from .conftest import FIELDS, post, sent_link, solved

pytestmark = pytest.mark.django_db


def test_the_link_page_posts_the_fragment_and_shows_the_thread(anonymous, ticket):
    _record, path, token = ticket
    opener = anonymous.get(path)
    assert opener.status_code == 200 and not opener.cookies
    assert 'name="key" value=""' in opener.content.decode()  # the script fills it from the fragment
    page = post(anonymous, path, {"key": token, "action": "open"})
    assert page.status_code == 200 and not page.cookies
    html = page.content.decode()
    assert FIELDS["subject"] in html and "combien coûtent 40 cartes" in html
    assert len(page.content) < 100_000


@pytest.mark.parametrize("kind", ["empty", "malformed", "well formed but unknown"])
def test_a_forged_link_gets_a_neutral_404(anonymous, ticket, kind):
    _record, path, _token = ticket
    key = {"empty": "", "malformed": "abc", "well formed but unknown": "A" * 43}[kind]
    response = post(anonymous, path, {"key": key, "action": "reply", "message": "Hello"})
    assert response.status_code == 404 and not response.cookies
    assert FIELDS["subject"] not in response.content.decode()
    assert TicketMessage.objects.count() == 1


def test_another_tickets_token_opens_nothing(anonymous, ticket):
    _first, first_path, first_token = ticket
    assert post(anonymous, "/contact/", solved(email="other@example.net", subject="Other")).status_code == 200
    second_path, second_token = sent_link("support_received", "other@example.net")
    for path, key in ((first_path, second_token), (second_path, first_token)):
        response = post(anonymous, path, {"key": key, "action": "reply", "message": "Mixed up"})
        assert response.status_code == 404
        assert "Un devis" not in response.content.decode() and "Other" not in response.content.decode()
    assert TicketMessage.objects.count() == 2


def test_the_sender_answers_the_ticket_opens_again_and_staff_are_told(anonymous, ticket, settings):
    settings.TESSERA_SUPPORT_EMAIL = "support@operator.example"
    record, path, token = ticket
    Ticket.objects.filter(pk=record.pk).update(status=Ticket.Status.WAITING)
    response = post(anonymous, path, {"key": token, "action": "reply", "message": "Merci, et pour 60 ?"})
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.status == Ticket.Status.OPEN
    assert (
        record.messages.last().body == "Merci, et pour 60 ?" and record.messages.last().author == "customer"
    )
    told = OutboxMessage.objects.get(kind="support_customer_replied")
    assert told.recipient == "support@operator.example"
    assert f"/support/desk/{record.pk}/" in told.body_text
    assert "Merci, et pour 60" not in told.body_text  # the message stays in the desk


@pytest.mark.parametrize("message", ["", "x" * 10_001])
def test_an_empty_or_oversized_answer_is_refused_and_stores_nothing(anonymous, ticket, message):
    _record, path, token = ticket
    response = post(anonymous, path, {"key": token, "action": "reply", "message": message})
    assert response.status_code == 400 and 'id="id_message_error"' in response.content.decode()
    assert TicketMessage.objects.count() == 1
    assert not OutboxMessage.objects.filter(kind="support_customer_replied").exists()


def test_an_answer_to_a_closed_ticket_is_refused_clearly_and_stores_nothing(anonymous, ticket):
    record, path, token = ticket
    Ticket.objects.filter(pk=record.pk).update(status=Ticket.Status.CLOSED)
    response = post(anonymous, path, {"key": token, "action": "reply", "message": "One more thing"})
    assert response.status_code == 409
    # The page is French (no /en/ prefix): the refusal in the reader's language.
    assert "Cette demande est close" in response.content.decode()
    assert TicketMessage.objects.count() == 1
    assert not OutboxMessage.objects.filter(kind="support_customer_replied").exists()
    record.refresh_from_db()
    assert record.status == Ticket.Status.CLOSED


def test_a_post_without_form_token_is_refused(anonymous, ticket):
    _record, path, token = ticket
    response = anonymous.post(
        path, {"key": token, "action": "reply", "message": "x"}, HTTP_ORIGIN="http://testserver"
    )
    assert response.status_code == 403
    assert TicketMessage.objects.count() == 1

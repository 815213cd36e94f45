"""The register declares the contact form; retention, export and erasure go through it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tessera.privacy.exports import export_data
from tessera.privacy.register import Subject, registry
from tessera.privacy.retention import retention_sweep
from tessera.privacy.services import rights_erase
from tessera.support.models import Ticket, TicketLink, TicketMessage, TicketNote

from .conftest import post, solved

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(when):
    return time_machine.travel(when, tick=False)


def test_the_register_declares_the_contact_form():
    activity = registry.activities["support.contact"]
    assert activity.retention.period == timedelta(days=3 * 365) and activity.retention.apply
    assert "support.Ticket" in activity.fields and "phone" in activity.fields["support.Ticket"]


def test_a_closed_ticket_is_deleted_3_years_after_its_last_message_and_not_before(anonymous):
    with at(T0):
        assert post(anonymous, "/contact/", solved()).status_code == 200
        assert post(anonymous, "/contact/", solved(email="open@example.net")).status_code == 200
    closed = Ticket.objects.get(email="camille@example.net")
    with at(T0 + timedelta(days=30)):  # the last message, then closing
        TicketMessage.objects.create(ticket=closed, author="staff", body="Done")
        Ticket.objects.filter(pk=closed.pk).update(
            status=Ticket.Status.CLOSED,
            last_message_at=T0 + timedelta(days=30),
            closed_at=T0 + timedelta(days=31),
        )
        TicketNote.objects.create(ticket=closed, body="internal")
    limit = T0 + timedelta(days=30) + timedelta(days=3 * 365)
    with at(limit):
        assert retention_sweep()["support.contact"] == 0
    assert Ticket.objects.filter(pk=closed.pk).exists()
    with at(limit + timedelta(days=1)):
        assert retention_sweep()["support.contact"] == 1
    assert not Ticket.objects.filter(pk=closed.pk).exists()
    assert not TicketMessage.objects.filter(ticket_id=closed.pk).exists()
    assert not TicketNote.objects.exists() and TicketLink.objects.count() == 1
    # A ticket still in progress is not deleted by this rule.
    assert Ticket.objects.filter(email="open@example.net").exists()


def test_the_persons_tickets_are_in_their_export_and_go_on_erasure(anonymous):
    assert post(anonymous, "/contact/", solved()).status_code == 200
    assert post(anonymous, "/contact/", solved(email="someone@example.net")).status_code == 200
    data = export_data(Subject(email="Camille@Example.net"))
    section = next(s for s in data["sections"] if s["activity"] == "support.contact")
    assert [row["subject"] for row in section["rows"]] == ["Un devis pour 40 cartes"]
    assert section["rows"][0]["messages"][0]["text"].startswith("Bonjour")
    rights_erase(email="camille@example.net", channel="email")
    assert list(Ticket.objects.values_list("email", flat=True)) == ["someone@example.net"]
    assert TicketMessage.objects.count() == 1 and TicketLink.objects.count() == 1

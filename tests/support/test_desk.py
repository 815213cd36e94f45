"""The staff desk: named permissions, every opening in the security log, replies through the outbox."""

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Permission
from django.test import Client

from tessera.core import sealing
from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.support.models import Ticket, TicketMessage, TicketNote
from tests.factories import UserFactory

from .conftest import post, sent_link

pytestmark = pytest.mark.django_db


def staff_client(*codenames, is_staff=True, second_factor=True) -> tuple[Client, object]:
    """Staff who set up a second factor, as the back-office requires, with these support permissions."""
    user = UserFactory(is_staff=is_staff)
    if second_factor:
        Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="support", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client, user


def test_the_desk_is_for_staff_with_the_named_permission(ticket):
    record, _path, _token = ticket
    desk, page = "/en/admin/support/desk/", f"/en/admin/support/desk/{record.pk}/"
    assert Client().get(desk)["Location"].startswith("/en/admin/login/")
    outsider, _ = staff_client("view_ticket", is_staff=False)
    assert outsider.get(page).status_code == 302
    bare, _ = staff_client()
    assert bare.get(desk).status_code == 403 and bare.get(page).status_code == 403
    reader, _ = staff_client("view_ticket")
    assert reader.get(desk).status_code == 200
    assert reader.post(f"{page}reply/", {"message": "Hi"}).status_code == 403
    assert reader.post(f"{page}update/", {"status": "closed"}).status_code == 403
    assert reader.post(f"{page}note/", {"note": "x"}).status_code == 403
    assert TicketMessage.objects.count() == 1 and not TicketNote.objects.exists()
    assert Ticket.objects.get().status == "new"
    assert not SecurityEvent.objects.filter(action="support.ticket.viewed").exists()


def test_staff_without_a_second_factor_are_sent_to_set_one_up(ticket):
    record, _path, _token = ticket
    client, _user = staff_client("view_ticket", "change_ticket", second_factor=False)
    for response in (
        client.get(f"/en/admin/support/desk/{record.pk}/"),
        client.post(f"/en/admin/support/desk/{record.pk}/reply/", {"message": "Hi"}),
    ):
        assert response.status_code == 302 and "/2fa/" in response["Location"]
    assert TicketMessage.objects.count() == 1
    assert not SecurityEvent.objects.filter(action="support.ticket.viewed").exists()


def test_every_opening_of_a_ticket_is_logged_with_who_read_it(ticket):
    record, _path, _token = ticket
    client, user = staff_client("view_ticket")
    for _ in range(2):
        response = client.get(f"/en/admin/support/desk/{record.pk}/")
        assert response.status_code == 200 and record.subject in response.content.decode()
    entries = SecurityEvent.objects.filter(action="support.ticket.viewed")
    assert entries.count() == 2
    assert {(e.actor_id, e.data["ticket"]) for e in entries} == {(user.pk, record.pk)}
    client.get("/en/admin/support/desk/")  # the queue shows no message: not an opening
    assert entries.count() == 2


def test_the_queue_filters_by_status_and_assignee_and_counts(ticket):
    record, _path, _token = ticket
    client, user = staff_client("view_ticket", "change_ticket")
    Ticket.objects.create(
        first_name="A", last_name="B", email="a@example.net", subject="Closed one", status="closed"
    )
    assert (
        client.post(
            f"/en/admin/support/desk/{record.pk}/update/", {"status": "open", "assignee": user.pk}
        ).status_code
        == 302
    )
    html = client.get("/en/admin/support/desk/", {"status": "open"}).content.decode()
    assert record.subject in html and "Closed one" not in html
    html = client.get("/en/admin/support/desk/", {"assignee": "none"}).content.decode()
    assert "Closed one" in html and record.subject not in html
    html = client.get("/en/admin/support/desk/", {"assignee": str(user.pk)}).content.decode()
    assert record.subject in html and "Closed one" not in html
    assert len(client.get("/en/admin/support/desk/").content) < 100_000


def test_staff_answer_by_email_with_a_sealed_link_and_notes_stay_internal(anonymous, ticket):
    record, path, token = ticket
    client, user = staff_client("view_ticket", "change_ticket")
    page = f"/admin/support/desk/{record.pk}/"
    assert client.post(f"{page}note/", {"note": "Client historique, remise possible"}).status_code == 302
    assert client.post(f"{page}reply/", {"message": "Bonjour, 40 cartes : 400 €."}).status_code == 302
    record.refresh_from_db()
    assert record.status == Ticket.Status.WAITING
    email = OutboxMessage.objects.get(kind="support_staff_replied")
    assert email.confidential and email.recipient == record.email
    assert email.headers["Content-Language"] == "fr"
    body = sealing.open_text(email.body_text)
    assert "400 €" in body and "remise" not in body
    new_path, new_token = sent_link("support_staff_replied", record.email)
    assert new_path == path and new_token != token
    for key in (token, new_token):  # the first email's link still opens the thread
        html = post(anonymous, path, {"key": key}).content.decode()
        assert "400 €" in html and "remise" not in html
    assert SecurityEvent.objects.filter(action="support.ticket.replied", actor_id=user.pk).exists()


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("reply", {"message": ""}),
        ("reply", {"message": "x" * 10_001}),
        ("note", {"note": ""}),
        ("update", {"status": "lost"}),
    ],
)
def test_bad_desk_input_is_refused_and_changes_nothing(ticket, action, data):
    record, _path, _token = ticket
    client, _user = staff_client("view_ticket", "change_ticket")
    response = client.post(f"/en/admin/support/desk/{record.pk}/{action}/", data)
    assert response.status_code == 400
    assert TicketMessage.objects.count() == 1 and not TicketNote.objects.exists()
    assert Ticket.objects.get().status == "new"
    assert not OutboxMessage.objects.filter(kind="support_staff_replied").exists()


def test_a_non_staff_user_cannot_be_assigned(ticket):
    record, _path, _token = ticket
    client, _user = staff_client("view_ticket", "change_ticket")
    customer = UserFactory()
    response = client.post(
        f"/en/admin/support/desk/{record.pk}/update/", {"status": "open", "assignee": customer.pk}
    )
    assert response.status_code == 400
    assert Ticket.objects.get().assignee is None


def test_a_missing_ticket_is_a_404(ticket):
    client, _user = staff_client("view_ticket", "change_ticket")
    assert client.get("/en/admin/support/desk/999999/").status_code == 404
    assert client.post("/en/admin/support/desk/999999/reply/", {"message": "x"}).status_code == 404

"""Staff reads of leads, cards and events in the back-office are written to the security log."""

import pytest
from allauth.mfa.models import Authenticator

from tessera.core.models import SecurityEvent
from tests.factories import EventFactory

from .conftest import lead_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model, client):
    user = django_user_model.objects.create_superuser(email="auditor@example.org", password="not-used-here")
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "unused"})
    client.force_login(user)
    return user


def reads():
    return list(
        SecurityEvent.objects.filter(action="admin.viewed").order_by("seq").values_list("actor_id", "data")
    )


def test_listing_and_opening_leads_logs_who_read_which_rows(client, staff, card):
    first = lead_for(card, email="vera@example.net")
    second = lead_for(card, email="xavier@example.net", name="Xavier Visitor")
    assert client.get("/admin/cards/lead/").status_code == 200
    assert client.get(f"/admin/cards/lead/{first.pk}/change/").status_code == 200
    assert client.get(f"/admin/cards/lead/{first.pk}/history/").status_code == 200
    listed, opened, history = reads()
    assert listed[0] == staff.pk
    assert listed[1]["model"] == "cards.lead" and listed[1]["view"] == "list"
    assert sorted(listed[1]["object_ids"]) == sorted([str(first.pk), str(second.pk)])
    assert listed[1]["rows"] == 2
    assert opened == (
        staff.pk,
        {"model": "cards.lead", "object_ids": [str(first.pk)], "rows": 1, "view": "record"},
    )
    assert history[1]["view"] == "history"


def test_opening_a_card_and_an_event_is_logged_and_a_refused_page_is_not(client, staff, card):
    event = EventFactory()
    assert client.get(f"/admin/cards/card/{card.pk}/change/").status_code == 200
    assert client.get(f"/admin/meetings/event/{event.pk}/change/").status_code == 200
    assert client.get("/admin/meetings/event/999999/change/").status_code == 302  # Django: not found
    logged = [(data["model"], data["object_ids"]) for _actor, data in reads()]
    assert logged == [("cards.card", [str(card.pk)]), ("meetings.event", [str(event.pk)])]


def test_a_staff_member_without_the_view_permission_reads_nothing_and_nothing_is_logged(
    client, django_user_model
):
    user = django_user_model.objects.create_user(email="intern@example.org", password="not-used-here")
    user.is_staff = True
    user.save()
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "unused"})
    client.force_login(user)
    assert client.get("/admin/cards/lead/").status_code == 403
    assert reads() == []

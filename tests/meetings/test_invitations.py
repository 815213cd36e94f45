"""Invitations, calendar files, links and the management page."""

import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
import vobject
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.formats import date_format

from tessera.meetings import services
from tessera.meetings.models import Event, Invitation
from tessera.meetings.room import services as room_services
from tests.factories import EventFactory, InvitationFactory

from .conftest import LINK, form_post, ics_of, key_of, outbox, token_of

pytestmark = pytest.mark.django_db

# What the management page costs today, whatever the number of invitations.
MANAGEMENT_PAGE_QUERIES = 5

INVITEES = ["ana@example.com", "ben@example.com", "chloe@example.net"]


def link_for(address: str, kind: str = "invitation") -> str:
    (message,) = outbox(kind, to=address)
    return LINK.search(message.body_text).group(1)


def status(client, link: str, token: str | None = None) -> dict:
    room_id = link.split("/m/", 1)[1].split("#", 1)[0]
    response = client.post(
        f"/m/{room_id}/status",
        data=json.dumps({"token": token if token is not None else token_of(link)}),
        content_type="application/json",
        HTTP_ORIGIN="http://testserver",
        HTTP_X_CSRFTOKEN=__import__("tessera.core.csrf", fromlist=["x"]).form_token_make(),
    )
    assert response.status_code == 200
    assert not response.cookies
    return response.json()


def parse_both(data: bytes):
    calendar = icalendar.Calendar.from_ical(data)
    second = vobject.readOne(data.decode())
    return calendar, calendar.walk("VEVENT")[0], second


def test_no_invitation_leaves_before_the_organiser_confirms(created):
    assert outbox("invitation") == []
    assert status_free_link_state(created) == "invalid"


def status_free_link_state(created):
    from tessera.meetings.selectors import link_state

    invitation = created.event.invitations.first()
    return link_state(invitation=invitation).state


def test_confirmation_sends_each_invitee_their_own_email_link_and_calendar_file(scheduled):
    event = scheduled.event
    messages = outbox("invitation")
    assert sorted(m.recipient for m in messages) == INVITEES
    links = set()
    for message in messages:
        others = [a for a in [*INVITEES, "organiser"] if a != message.recipient and a != "organiser"]
        for text in (message.body_text, message.body_html, ics_of(message).decode()):
            assert not any(other in text for other in others), "another invitee's address leaked"
        link = LINK.search(message.body_text).group(1)
        assert link in message.body_html
        assert key_of(link).split(".")[1] == scheduled.room_secret
        links.add(link)
        # The link carries no address, name or title.
        assert message.recipient.split("@")[0] not in link and "Point" not in link
        calendar, vevent, second = parse_both(ics_of(message))
        assert calendar["METHOD"] == "REQUEST"
        assert str(vevent["UID"]).startswith(str(event.uid))
        assert vevent["SEQUENCE"] == 0
        assert vevent["DTSTART"].params["TZID"] == "Europe/Paris"
        assert vevent["DTEND"].params["TZID"] == "Europe/Paris"
        assert vevent.decoded("DTSTART") == event.starts_at
        assert vevent.decoded("DTEND") == event.ends_at
        assert calendar.walk("VTIMEZONE")[0]["TZID"] == "Europe/Paris"
        assert str(vevent["ORGANIZER"]) == "mailto:organiser@example.org"
        assert str(vevent["ATTENDEE"]) == f"mailto:{message.recipient}"
        assert str(vevent["URL"]) == link
        assert second.vevent.uid.value == str(vevent["UID"])
        assert second.vevent.dtstart.value == event.starts_at
        assert second.vevent.url.value == link
        assert second.vevent.attendee.value == f"mailto:{message.recipient}"
        assert second.method.value == "REQUEST"
        (attachment,) = message.attachments.all()
        assert attachment.content_type.startswith("text/calendar; method=REQUEST")
    assert len(links) == 3
    assert event.room_secret_check and scheduled.room_secret not in json.dumps(
        list(Event.objects.values()), default=str
    )


def test_confirming_twice_sends_nothing_more(scheduled):
    assert services.event_verify(event=scheduled.event, room_secret=scheduled.room_secret) == 0
    assert len(outbox("invitation")) == 3


def test_a_wrong_room_secret_is_refused(created):
    with pytest.raises(services.RoomSecretMismatch):
        services.event_verify(event=created.event, room_secret="A" * 43)
    assert outbox("invitation") == []


def test_link_lifecycle_waiting_open_ended(client, scheduled):
    event = scheduled.event
    link = link_for("ana@example.com")
    with time_machine.travel(event.starts_at - timedelta(minutes=16), tick=False):
        body = status(client, link)
        assert body["state"] == "waiting"
        assert body["title"] == event.title
        assert body["opens_at"] == (event.starts_at - timedelta(minutes=15)).isoformat()
    with time_machine.travel(event.starts_at - timedelta(minutes=15), tick=False):
        assert status(client, link)["state"] == "open"
    with time_machine.travel(event.ends_at + timedelta(minutes=29), tick=False):
        assert status(client, link)["state"] == "open"
    with time_machine.travel(event.ends_at + timedelta(minutes=30), tick=False):
        assert status(client, link)["state"] == "ended"


def test_unknown_revoked_and_foreign_tokens_get_the_same_neutral_answer(client, scheduled):
    link = link_for("ben@example.com")
    assert status(client, link)["state"] == "waiting"
    services.invitation_remove(
        event=scheduled.event, invitation=Invitation.objects.get(email="ben@example.com")
    )
    revoked = status(client, link)
    unknown = status(client, link, token="x" * 43)
    malformed = status(client, link, token="<script>")
    assert revoked.keys() == unknown.keys() == malformed.keys() == {"state", "now"}
    assert revoked["state"] == unknown["state"] == malformed["state"] == "invalid"
    # A token of this room used on another room id is unknown there.
    other = status(client, "http://testserver/m/otherroom#" + key_of(link_for("ana@example.com")))
    assert other["state"] == "invalid"


def test_removing_an_invitee_revokes_the_link_and_cancels_their_calendar_entry(client, scheduled):
    invitation = Invitation.objects.get(email="chloe@example.net")
    services.invitation_remove(event=scheduled.event, invitation=invitation)
    (message,) = outbox("removed")
    assert message.recipient == "chloe@example.net"
    calendar, vevent, second = parse_both(ics_of(message))
    assert calendar["METHOD"] == "CANCEL" and second.method.value == "CANCEL"
    assert "URL" not in vevent
    assert status(client, link_for("chloe@example.net"))["state"] == "invalid"


def test_update_sends_the_next_sequence_to_every_invitee_with_the_same_links(scheduled, starts_at):
    services.event_update(
        event=scheduled.event,
        room_secret=scheduled.room_secret,
        title="New title",
        starts_at=starts_at + timedelta(hours=1),
    )
    updates = outbox("invitation_update")
    assert sorted(m.recipient for m in updates) == INVITEES
    for message in updates:
        _calendar, vevent, second = parse_both(ics_of(message))
        assert vevent["SEQUENCE"] == 1 and int(second.vevent.sequence.value) == 1
        assert str(vevent["SUMMARY"]) == "New title"
        assert vevent.decoded("DTSTART") == starts_at + timedelta(hours=1)
        assert LINK.search(message.body_text).group(1) == link_for(message.recipient)
    services.event_update(event=scheduled.event, room_secret=scheduled.room_secret, description="Again")
    assert {parse_both(ics_of(m))[1]["SEQUENCE"] for m in outbox("invitation_update")} == {1, 2}


def test_toggling_the_reminder_sends_nothing_and_needs_no_secret(scheduled):
    assert services.event_update(event=scheduled.event, reminder_enabled=False) is False
    assert outbox("invitation_update") == []
    scheduled.event.refresh_from_db()
    assert scheduled.event.reminder_enabled is False


def test_update_without_the_room_secret_is_refused(scheduled):
    with pytest.raises(services.RoomSecretMismatch):
        services.event_update(event=scheduled.event, room_secret="", title="Changed")
    scheduled.event.refresh_from_db()
    assert scheduled.event.title != "Changed"


def test_update_into_the_past_is_refused(scheduled, starts_at):
    with pytest.raises(ValidationError):
        services.event_update(
            event=scheduled.event, room_secret=scheduled.room_secret, starts_at=starts_at - timedelta(days=10)
        )


def test_cancellation_sends_method_cancel_to_everyone_and_closes_the_links(client, scheduled):
    sent = services.event_cancel(event=scheduled.event)
    assert sent == 3
    for message in outbox("cancellation"):
        calendar, vevent, second = parse_both(ics_of(message))
        assert calendar["METHOD"] == "CANCEL" and str(vevent["STATUS"]) == "CANCELLED"
        assert vevent["SEQUENCE"] == 1 and second.vevent.status.value == "CANCELLED"
        (attachment,) = message.attachments.all()
        assert attachment.content_type.startswith("text/calendar; method=CANCEL")
    assert status(client, link_for("ana@example.com"))["state"] == "cancelled"
    assert services.event_cancel(event=scheduled.event) == 0
    with pytest.raises(services.EventNotEditable):
        services.invitation_add(
            event=scheduled.event, email="late@example.com", room_secret=scheduled.room_secret
        )


def test_added_invitee_gets_the_current_sequence_and_resend_repeats_the_same_link(scheduled):
    invitation = services.invitation_add(
        event=scheduled.event, email="Dan@Example.com", room_secret=scheduled.room_secret
    )
    first = link_for("dan@example.com")
    services.invitation_resend(
        event=scheduled.event, invitation=invitation, room_secret=scheduled.room_secret
    )
    messages = outbox("invitation", to="dan@example.com")
    assert len(messages) == 2
    assert LINK.search(messages[1].body_text).group(1) == first
    with pytest.raises(ValidationError):
        services.invitation_add(
            event=scheduled.event, email="dan@example.com", room_secret=scheduled.room_secret
        )


def test_guest_links_wait_in_the_lobby(client, scheduled):
    from tessera.meetings import links

    guest = services.guest_link_create(event=scheduled.event, room_secret=scheduled.room_secret)
    url = links.join_url(event=scheduled.event, invitation=guest, room_secret=scheduled.room_secret)
    with time_machine.travel(scheduled.event.starts_at, tick=False):
        assert status(client, url)["state"] == "lobby"


def test_script_in_the_title_stays_text_in_the_calendar_file(db, event_details):
    script = "<script>alert(1)</script>\r\nATTENDEE:mailto:evil@example.com"
    created = services.event_create(**{**event_details, "title": script, "description": script})
    services.event_verify(event=created.event, room_secret=created.room_secret)
    for message in outbox("invitation"):
        _calendar, vevent, second = parse_both(ics_of(message))
        assert str(vevent["SUMMARY"]) == " ".join(script.split())
        assert str(vevent["DESCRIPTION"]).startswith(script.replace("\r\n", "\n"))
        assert len(vevent.get("ATTENDEE") if isinstance(vevent.get("ATTENDEE"), list) else [1]) == 1
        assert "evil@example.com" not in [str(a) for a in second.vevent.contents["attendee"]]
        assert "&lt;script&gt;" in message.body_html and "<script>" not in message.body_html


def manage_post(client, event, key, **data):
    return form_post(client, f"/en/m/manage/{event.public_id}", {"key": key, **data})


def test_management_page_needs_the_whole_key(client, scheduled):
    event = scheduled.event
    assert client.get(f"/m/manage/{event.public_id}").status_code == 200  # the page that reads the fragment
    wrong = manage_post(client, event, "x" * 43 + "." + scheduled.room_secret)
    assert wrong.status_code == 404 and "This link does not work" in wrong.content.decode()
    assert "ana@example.com" not in wrong.content.decode()
    right = manage_post(client, event, f"{scheduled.manage_token}.{scheduled.room_secret}")
    html = right.content.decode()
    assert right.status_code == 200 and not right.cookies
    assert "no-store" in right["Cache-Control"]
    assert all(address in html for address in INVITEES)
    assert "30 days after the end" in html
    # The organiser enters the live room with the organiser fragment the room page expects.
    room_link = f'/en/room/{event.room_id}#o.{scheduled.manage_token}.{scheduled.room_secret}"'
    assert room_link in html


def test_management_actions_over_http(client, created):
    event, key = created.event, f"{created.manage_token}.{created.room_secret}"
    assert "Confirm and send the invitations" in manage_post(client, event, key).content.decode()
    manage_post(client, event, key, action="verify")
    assert len(outbox("invitation")) == 3
    html = manage_post(client, event, key, action="add", email="not an address").content.decode()
    assert "Enter a valid email address" in html
    manage_post(client, event, key, action="add", email="dan@example.com", language="en")
    assert len(outbox("invitation")) == 4
    assert outbox("invitation", to="dan@example.com")[0].subject.startswith("Invitation:")
    assert ">EN</span>" in manage_post(client, event, key).content.decode()
    dan = Invitation.objects.get(email="dan@example.com")
    manage_post(client, event, key, action="remove", invitation=str(dan.public_id))
    dan.refresh_from_db()
    assert dan.revoked_at is not None
    html = manage_post(client, event, key, action="guest").content.decode()
    guest_link = re.search(r'value="([^"]+)" class="guest-url"', html).group(1)
    assert guest_link.endswith("." + created.room_secret) and "/m/" in guest_link
    manage_post(client, event, key, action="reminder", reminder="off")
    event.refresh_from_db()
    assert event.reminder_enabled is False
    manage_post(client, event, key, action="cancel")  # not confirmed: nothing happens
    event.refresh_from_db()
    assert event.status == Event.Status.SCHEDULED
    manage_post(client, event, key, action="cancel", confirm="yes")
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    assert len(outbox("cancellation")) == 3


def test_session_metadata_is_shown_after_the_meeting(client, scheduled):
    event = scheduled.event
    with time_machine.travel(event.starts_at, tick=False):
        session = room_services.meeting_session_open(event=event)
        room_services.session_participant_join(
            session=session, invitation=event.invitations.get(email="ana@example.com")
        )
    with time_machine.travel(event.ends_at, tick=False):
        room_services.meeting_session_close(session=session)
    with time_machine.travel(event.ends_at + timedelta(minutes=5), tick=False):
        html = manage_post(
            client, event, f"{scheduled.manage_token}.{scheduled.room_secret}"
        ).content.decode()
    assert "Duration: 1:00:00" in html
    assert "ana@example.com" in html.split("Sessions")[1]


def test_each_invitee_gets_emails_in_their_own_language(
    db, event_details, django_capture_on_commit_callbacks
):
    created = services.event_create(
        **{**event_details, "language": "fr"},
        invitee_languages={"Ben@Example.com": "en", "ana@example.com": "fr"},
    )
    services.event_verify(event=created.event, room_secret=created.room_secret)
    english = services.invitation_add(
        event=created.event, email="dan@example.com", language="en", room_secret=created.room_secret
    )
    assert english.language == "en"
    assert Invitation.objects.get(email="ana@example.com").language == ""  # same as the event's
    for address in ("ana@example.com", "chloe@example.net"):
        assert outbox("invitation", to=address)[0].subject.startswith("Invitation :")  # French
    for address in ("ben@example.com", "dan@example.com"):
        (message,) = outbox("invitation", to=address)
        assert message.subject.startswith("Invitation:")
        assert "Your personal link" in message.body_text
    with pytest.raises(ValidationError):
        services.invitation_add(
            event=created.event, email="eve@example.com", language="de", room_secret=created.room_secret
        )
    services.event_cancel(event=created.event)
    assert outbox("cancellation", to="ben@example.com")[0].subject.startswith("Cancelled")
    assert not outbox("cancellation", to="ana@example.com")[0].subject.startswith("Cancelled")


def test_the_calendar_uid_stays_the_same_across_invitation_update_removal_and_cancellation(scheduled):
    event = scheduled.event
    services.event_update(event=event, room_secret=scheduled.room_secret, title="Moved")
    services.invitation_remove(event=event, invitation=Invitation.objects.get(email="chloe@example.net"))
    services.event_cancel(event=event)
    messages = [
        *outbox("invitation"),
        *outbox("invitation_update"),
        *outbox("removed"),
        *outbox("cancellation"),
    ]
    assert len(messages) == 3 + 3 + 1 + 2
    uids = set()
    for message in messages:
        _calendar, vevent, second = parse_both(ics_of(message))
        uids.update({str(vevent["UID"]), second.vevent.uid.value})
    assert uids == {f"{event.uid}@testserver"}


def test_a_removed_invitee_gets_a_cancel_with_the_next_sequence_and_coming_back_outranks_it(scheduled):
    event = scheduled.event
    services.event_update(event=event, room_secret=scheduled.room_secret, title="Moved")
    (held,) = [
        parse_both(ics_of(m))[1]["SEQUENCE"] for m in outbox("invitation_update", to="ben@example.com")
    ]
    services.invitation_remove(event=event, invitation=Invitation.objects.get(email="ben@example.com"))
    (removal,) = outbox("removed")
    calendar, vevent, second = parse_both(ics_of(removal))
    assert calendar["METHOD"] == "CANCEL"
    assert vevent["SEQUENCE"] == held + 1 == int(second.vevent.sequence.value)
    event.refresh_from_db()
    assert event.sequence == held + 1
    # Invited again, the person's calendar must accept the new REQUEST over the CANCEL it holds.
    services.invitation_add(event=event, email="ben@example.com", room_secret=scheduled.room_secret)
    (again,) = outbox("invitation", to="ben@example.com")[1:]
    assert parse_both(ics_of(again))[1]["SEQUENCE"] == held + 2
    # Others who were never removed are not disturbed: no email for them.
    assert len(outbox("invitation_update")) == 3


def test_the_resend_action_over_http_sends_the_same_link_again(client, scheduled):
    key = f"{scheduled.manage_token}.{scheduled.room_secret}"
    ana = Invitation.objects.get(email="ana@example.com")
    first = link_for("ana@example.com")
    response = manage_post(client, scheduled.event, key, action="resend", invitation=str(ana.public_id))
    assert response.status_code == 200
    assert "Invitation sent again to ana@example.com." in response.content.decode()
    messages = outbox("invitation", to="ana@example.com")
    assert len(messages) == 2 and LINK.search(messages[1].body_text).group(1) == first
    assert parse_both(ics_of(messages[1]))[1]["SEQUENCE"] == 0
    assert len(outbox("invitation")) == 4  # nobody else got one
    # Without the room secret nothing is sent.
    wrong = manage_post(
        client,
        scheduled.event,
        f"{scheduled.manage_token}.{'A' * 43}",
        action="resend",
        invitation=str(ana.public_id),
    )
    assert "This link is incomplete" in wrong.content.decode()
    assert len(outbox("invitation")) == 4
    # After a removal (which moves the sequence) a resend is still the invitation, with that sequence.
    services.invitation_remove(
        event=scheduled.event, invitation=Invitation.objects.get(email="ben@example.com")
    )
    manage_post(client, scheduled.event, key, action="resend", invitation=str(ana.public_id))
    (latest,) = outbox("invitation", to="ana@example.com")[2:]
    assert latest.subject.startswith("Invitation :") and parse_both(ics_of(latest))[1]["SEQUENCE"] == 1
    assert outbox("invitation_update") == []


def test_the_status_names_the_next_change_so_the_page_asks_once_per_change(client, scheduled):
    event = scheduled.event
    link = link_for("ana@example.com")
    closes = event.ends_at + timedelta(minutes=30)
    with time_machine.travel(event.starts_at - timedelta(hours=2), tick=False):
        body = status(client, link)
        assert body["state"] == "waiting" and body["changes_at"] == body["opens_at"]
    # Within the grace period after the end the room still opens; the next change is when it closes.
    with time_machine.travel(event.ends_at + timedelta(minutes=1), tick=False):
        body = status(client, link)
        assert body["state"] == "open"
        assert body["changes_at"] == body["closes_at"] == closes.isoformat()
    with time_machine.travel(closes, tick=False):
        body = status(client, link)
        assert body["state"] == "ended" and body["changes_at"] is None


def test_the_management_page_says_when_each_piece_of_data_is_deleted(client, db, event_details):
    from tessera.privacy.register import registry

    created = services.event_create(**event_details, marketing_opt_in=True)
    key = f"{created.manage_token}.{created.room_secret}"
    event = created.event
    html = manage_post(client, event, key).content.decode()
    section = html.split('data-testid="deletion"', 1)[1].split("</ul>", 1)[0]
    security = registry.activities["core.security_log"].retention
    outbox_days = registry.activities["core.outbox"].retention.period.days
    with translation.override("en"), timezone.override(ZoneInfo(event.time_zone)):
        created_on = date_format(timezone.localtime(event.created_at + security.period), "DATE_FORMAT")
    assert "30 days after the end" in section
    assert "7 days after the session began" in section
    assert "security-log entry written when the event was created" in section and created_on in section
    assert str(security.description) in section
    assert f"{outbox_days} days after each was sent" in section
    assert "that consent is recorded only once you confirm your address" in section
    html = manage_post(client, event, key, action="verify").content.decode()
    section = html.split('data-testid="deletion"', 1)[1].split("</ul>", 1)[0]
    marketing = registry.activities["privacy.marketing"].retention.description
    assert "Your consent to receive our news by email:" in section and str(marketing) in section


def _management_page_queries(client, event) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        page = manage_post(client, event, f"{event.manage_token}.{event.room_secret}")
        assert page.status_code == 200 and "ana@example.com" in page.content.decode()
    return [q["sql"] for q in queries.captured_queries]


def test_the_management_page_reads_a_fixed_number_of_queries_whatever_the_invitations(client):
    event = EventFactory(invitees=["ana@example.com"])
    single = _management_page_queries(client, event)
    for n in range(9):
        invitation = InvitationFactory(event=event, email=f"person{n}@example.com", language="en")
    services.invitation_remove(event=event, invitation=invitation)
    services.guest_link_create(event=event, room_secret=event.room_secret)
    many = _management_page_queries(client, event)
    assert len(many) == len(single) <= MANAGEMENT_PAGE_QUERIES, many

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

from .conftest import LINK, MANAGE, form_post, ics_of, key_of, outbox, token_of

pytestmark = pytest.mark.django_db

# What the management page costs today, whatever the number of invitations.
MANAGEMENT_PAGE_QUERIES = 5

INVITEES = ["ana@example.com", "ben@example.com", "chloe@example.net"]


HANDOVER = (
    "The room opens 15 minutes before the start. No account and no app are needed. The meeting is end-to-end"
    " encrypted and its key is not in this email: in the meeting, the organiser's browser (or that of another"
    " participant who holds the key) hands it over to yours, never us. If nobody holding the key is there"
    " yet, your page waits for the organiser."
)
KEY_NOT_HERE = (
    "This link does not carry the meeting key: the key was made in the browser you used to create the"
    " meeting, stays there, and was never sent to us. On another device, the management page asks you for"
    " that key or makes a new one."
)
KEY_IN_LINK = (
    "The room opens 15 minutes before the start. No account and no app are needed; the meeting is end-to-end"
    " encrypted with a key contained in your link."
)
FRAGMENT_WITH_KEY = re.compile(r"#[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{43}")


def said(message, msgid: str, language: str) -> bool:
    with translation.override(language):
        return translation.gettext(msgid) in message.body_text


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
        assert "." not in key_of(link), "by default a link carries a token, never the key"
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
    # The server never had a key: it holds no check value of one either.
    assert scheduled.room_secret == "" and event.room_secret_check == "" and not event.key_in_links


def test_links_that_carry_the_key_put_it_in_every_link_and_never_store_it(scheduled_with_key):
    secret = scheduled_with_key.room_secret
    messages = outbox("invitation")
    assert sorted(m.recipient for m in messages) == INVITEES
    for message in messages:
        link = LINK.search(message.body_text).group(1)
        assert key_of(link).split(".")[1] == secret
        assert str(parse_both(ics_of(message))[1]["URL"]) == link
        assert said(message, KEY_IN_LINK, "fr")
    (verification,) = outbox("verify")
    assert key_of(MANAGE.search(verification.body_text).group(1)).endswith("." + secret)
    event = scheduled_with_key.event
    assert event.key_in_links and event.room_secret_check
    assert secret not in json.dumps(list(Event.objects.values()), default=str)


def test_by_default_no_email_carries_a_key_and_each_says_where_the_key_comes_from(scheduled):
    event = scheduled.event
    ana = Invitation.objects.get(email="ana@example.com")
    services.invitation_add(event=event, email="dan@example.com", language="en")
    services.invitation_resend(event=event, invitation=ana)
    services.event_update(event=event, title="Moved")
    services.guest_link_create(event=event)
    messages = outbox()
    assert sorted({m.kind for m in messages}) == [
        "meetings_invitation",
        "meetings_invitation_update",
        "meetings_verify",
    ]
    for message in messages:
        parts = [message.body_text, message.body_html]
        parts += [ics_of(message).decode()] if message.attachments.exists() else []
        for part in parts:
            assert not FRAGMENT_WITH_KEY.search(part), message.kind
        found = [*LINK.findall(message.body_text), *MANAGE.findall(message.body_text)]
        assert found and all("." not in key_of(url) for url in found), message.kind
        language = "en" if message.recipient == "dan@example.com" else "fr"
        if message.kind == "meetings_verify":
            assert said(message, KEY_NOT_HERE, language)
        else:
            assert said(message, HANDOVER, language), message.recipient
            assert not said(message, KEY_IN_LINK, language)
    assert any(m.recipient == "dan@example.com" for m in messages)


def test_confirming_twice_sends_nothing_more(scheduled):
    assert services.event_verify(event=scheduled.event, room_secret=scheduled.room_secret) == 0
    assert len(outbox("invitation")) == 3


def test_a_wrong_room_secret_is_refused_when_links_carry_the_key(created_with_key):
    with pytest.raises(services.RoomSecretMismatch):
        services.event_verify(event=created_with_key.event, room_secret="A" * 43)
    with pytest.raises(services.RoomSecretMismatch):
        services.event_verify(event=created_with_key.event)
    assert outbox("invitation") == []


def test_by_default_confirming_needs_no_key(created):
    assert created.room_secret == ""
    assert services.event_verify(event=created.event) == 3


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


def test_update_without_the_room_secret_is_refused_when_links_carry_the_key(scheduled_with_key):
    event = scheduled_with_key.event
    for action in (
        lambda: services.event_update(event=event, room_secret="", title="Changed"),
        lambda: services.invitation_add(event=event, email="dan@example.com"),
        lambda: services.invitation_resend(event=event, invitation=event.invitations.first()),
        lambda: services.guest_link_create(event=event, room_secret="B" * 43),
    ):
        with pytest.raises(services.RoomSecretMismatch):
            action()
    event.refresh_from_db()
    assert event.title != "Changed" and event.invitations.count() == 3
    assert outbox("invitation_update") == [] and len(outbox("invitation")) == 3


def test_a_key_sent_for_links_without_the_key_is_refused_and_nothing_is_created(db, event_details):
    from tessera.meetings import links

    with pytest.raises(ValidationError) as refused:
        services.event_create(**event_details, room_secret=links.room_secret_make())
    assert "room_secret" in refused.value.message_dict
    with pytest.raises(ValidationError):
        services.event_create(**event_details, key_in_links=True, room_secret="too-short")
    assert Event.objects.count() == 0 and outbox() == []


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


def test_management_page_needs_the_token_and_never_holds_the_key(client, scheduled):
    event = scheduled.event
    assert client.get(f"/m/manage/{event.public_id}").status_code == 200  # the page that reads the fragment
    wrong = manage_post(client, event, "x" * 43)
    assert wrong.status_code == 404 and "This link does not work" in wrong.content.decode()
    assert "ana@example.com" not in wrong.content.decode()
    right = manage_post(client, event, scheduled.manage_token)
    html = right.content.decode()
    assert right.status_code == 200 and not right.cookies
    assert "no-store" in right["Cache-Control"]
    assert all(address in html for address in INVITEES)
    assert "30 days after the end" in html
    # The organiser's room link holds the token; the page's script adds the key this device holds.
    assert f'/en/room/{event.room_id}#o.{scheduled.manage_token}"' in html
    assert 'data-key-in-links="false"' in html and "do not carry its key" in html
    # A key posted anyway (an old script, a crafted form) is neither used nor rendered back.
    secret = "S" * 43
    html = manage_post(
        client, event, f"{scheduled.manage_token}.{secret}", room_secret=secret
    ).content.decode()
    assert "ana@example.com" in html and secret not in html


def test_a_management_page_whose_links_carry_the_key_never_renders_it(client, scheduled_with_key):
    event, secret = scheduled_with_key.event, scheduled_with_key.room_secret
    html = manage_post(client, event, scheduled_with_key.manage_token).content.decode()
    assert 'data-key-in-links="true"' in html and "carry its key" in html
    assert f'/en/room/{event.room_id}#o.{scheduled_with_key.manage_token}"' in html
    assert html.count("data-needs-key") == 6  # update, 3 resends, add, guest: the script adds the key there
    assert secret not in html
    added = manage_post(
        client,
        event,
        scheduled_with_key.manage_token,
        action="add",
        email="dan@example.com",
        room_secret=secret,
    )
    assert (
        "Invitation sent to dan@example.com." in added.content.decode()
        and secret not in added.content.decode()
    )
    assert key_of(link_for("dan@example.com")).endswith("." + secret)
    missing = manage_post(
        client, event, scheduled_with_key.manage_token, action="add", email="eve@example.com"
    )
    assert "carry the meeting key, and this page does not hold it" in missing.content.decode()
    assert outbox("invitation", to="eve@example.com") == []


def test_management_actions_over_http(client, created):
    # By default the page posts its token alone: no action needs the key.
    event, key = created.event, created.manage_token
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
    assert "/m/" in guest_link and "." not in key_of(guest_link)  # the token only, by default
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

"""Meetings in Chromium: create, confirm by email, invite, open links, remove, update, cancel."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import vobject
from django.utils import timezone
from playwright.sync_api import expect

# `#<token>`, or `#<token>.<room-secret>` for a meeting whose links carry the key (decision 0010).
LINK = re.compile(r"https?://[^\s\"<>]+/m/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]{43})?")
MANAGE = re.compile(r"https?://[^\s\"<>]+/m/manage/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]{43})?")
INVITEES = ["ana@example.com", "ben@example.com", "chloe@example.net"]
UIDS: list[str] = []  # every calendar file's UID, in the order parsed


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def calendar_of(message, method: str):
    """The .ics attachment, parsed by icalendar and by vobject; both must agree."""
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == method
    assert part.get_content_charset() == "utf-8"
    data = part.get_payload(decode=True)
    first = icalendar.Calendar.from_ical(data)
    second = vobject.readOne(data.decode("utf-8"))
    vevent = first.walk("VEVENT")[0]
    assert first["METHOD"] == second.method.value == method
    assert str(vevent["UID"]) == second.vevent.uid.value
    assert int(vevent["SEQUENCE"]) == int(second.vevent.sequence.value)
    assert vevent.decoded("DTSTART") == second.vevent.dtstart.value
    assert vevent["DTSTART"].params["TZID"] == "Europe/Paris"
    assert first.walk("VTIMEZONE")[0]["TZID"] == "Europe/Paris"
    assert str(vevent["ATTENDEE"]) == second.vevent.attendee.value == f"mailto:{message['To']}"
    UIDS.append(second.vevent.uid.value)
    return vevent


def new_mail(smtp, before: int, count: int) -> list:
    return smtp.wait_for(before + count)[before:]


def room_of(page) -> str:
    return page.locator("#manage").get_attribute("data-room-id")


def open_manage(page, url):
    page.goto(url)
    expect(page.get_by_test_id("event-status")).to_be_visible()


def test_whole_flow_in_chromium(server, smtp, page, request_log):
    page.set_default_timeout(10_000)
    UIDS.clear()
    dialogs = []  # a script that ran from the title would open one

    def dialog_seen(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dialog_seen)
    start = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo("Europe/Paris"))
    page.goto(server.url + "/en/m/new/")
    page.locator("#id_title").fill("<script>alert(1)</script> Planning")
    page.locator("#id_description").fill("Agenda <b>bold</b>")
    page.locator("#id_date").fill(start.date().isoformat())
    page.locator("#id_time").fill("10:30")
    page.locator("#id_time_zone").select_option("Europe/Paris")
    page.locator("#id_duration_minutes").select_option("60")
    page.locator("#id_organiser_email").fill("organiser@example.org")
    page.locator("#id_invitees").fill("ana@example.com; Ben@Example.com\nchloe@example.net, ana@example.com")
    page.locator("#id_language").select_option("en")
    page.locator("#id_age_confirmed").check()
    page.get_by_role("button", name="Create the event").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert page.context.cookies() == []

    # The confirmation email is the only one so far.
    (verification,) = smtp.wait_for(1)
    assert verification["To"] == "organiser@example.org"
    manage_url = MANAGE.search(text_of(verification)).group(0)
    open_manage(page, manage_url)
    # The token is back in the address bar with the key this browser made, never sent in a URL.
    secret = page.evaluate(
        "(id) => JSON.parse(localStorage.getItem('tessera.meetingKey.' + id)).secret", room_of(page)
    )
    assert page.url == f"{manage_url}.{secret}"
    page.get_by_test_id("verify").click()
    expect(page.get_by_test_id("notice")).to_contain_text("3 invitations")

    invitations = new_mail(smtp, 1, 3)
    assert sorted(m["To"] for m in invitations) == INVITEES
    links = {}
    for message in invitations:
        body, html = text_of(message), html_of(message)
        assert "&lt;script&gt;" in html and "<script>" not in html
        for other in INVITEES:
            if other != message["To"]:
                assert other not in body and other not in html
        link = LINK.search(body).group(0)
        vevent = calendar_of(message, "REQUEST")
        assert int(vevent["SEQUENCE"]) == 0 and str(vevent["URL"]) == link
        assert str(vevent["SUMMARY"]) == "<script>alert(1)</script> Planning"
        assert str(vevent["ORGANIZER"]) == "mailto:organiser@example.org"
        links[message["To"]] = link
    assert len(set(links.values())) == 3

    for address, link in links.items():
        page.goto(link)
        expect(page.locator('[data-show="waiting"]')).to_be_visible()
        expect(page.locator('[data-field="title"]')).to_have_text("<script>alert(1)</script> Planning")
        expect(page.locator('[data-field="countdown"]')).to_have_text(re.compile(r"\d+ d \d\d:\d\d:\d\d"))
        assert address not in page.content()

    # Remove one invitee: their link is refused like any invalid link.
    open_manage(page, manage_url)
    page.get_by_role("button", name="Remove chloe@example.net").click()
    expect(page.get_by_test_id("notice")).to_contain_text("chloe@example.net was removed")
    (removal,) = new_mail(smtp, 4, 1)
    assert removal["To"] == "chloe@example.net"
    # The CANCEL outranks the REQUEST chloe's calendar holds (SEQUENCE 0), or it would be ignored.
    assert int(calendar_of(removal, "CANCEL")["SEQUENCE"]) == 1
    page.goto(links["chloe@example.net"])
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    page.goto(server.url + "/en/m/nosuchroom#" + "A" * 43 + "." + "B" * 43)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()

    # Update: every remaining invitee gets the next SEQUENCE (2) with the same personal link.
    open_manage(page, manage_url)
    page.get_by_text("Edit the details").click()
    page.locator("#id_title").fill("Planning, moved")
    page.locator("#id_time").fill("11:00")
    page.get_by_role("button", name="Save and notify the invitees").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Saved")
    updates = new_mail(smtp, 5, 2)
    assert sorted(m["To"] for m in updates) == ["ana@example.com", "ben@example.com"]
    for message in updates:
        vevent = calendar_of(message, "REQUEST")
        assert int(vevent["SEQUENCE"]) == 2 and str(vevent["SUMMARY"]) == "Planning, moved"
        assert vevent.decoded("DTSTART").hour == 11
        assert LINK.search(text_of(message)).group(0) == links[message["To"]]

    # Cancel: METHOD:CANCEL to everyone still invited, and the links say so.
    page.locator('input[name="confirm"]').check()
    page.get_by_test_id("cancel").click()
    expect(page.get_by_test_id("event-status")).to_have_text("cancelled")
    cancellations = new_mail(smtp, 7, 2)
    for message in cancellations:
        vevent = calendar_of(message, "CANCEL")
        assert int(vevent["SEQUENCE"]) == 3 and str(vevent["STATUS"]) == "CANCELLED"
    page.goto(links["ana@example.com"])
    expect(page.locator('[data-show="cancelled"]')).to_be_visible()

    # One event, one calendar entry: the same UID in the invitations, the removal, updates and cancellations.
    assert len(UIDS) == 3 + 1 + 2 + 2 and len(set(UIDS)) == 1
    assert UIDS[0].endswith("@127.0.0.1")
    assert dialogs == []

    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []
    # Neither invite tokens nor the room secret ever travelled in a URL the server received.
    keys = [part for link in links.values() for part in link.split("#", 1)[1].split(".")]
    assert not any(key in url.split("#", 1)[0] for key in keys for url in request_log.urls)


def test_join_opens_15_minutes_before_and_guests_wait_in_the_lobby(server, smtp, page, request_log):
    from tessera.meetings import links, services
    from tests.factories import OrganisationFactory

    organisation = OrganisationFactory(name="Acme")
    created = services.event_create(
        title="Stand-up",
        starts_at=timezone.now() + timedelta(minutes=10),
        time_zone="Europe/Paris",
        duration_minutes=15,
        organiser_email="lead@acme.example",
        invitees=["dev@acme.example"],
        language="fr",
        organisation=organisation,
    )
    invite_link = LINK.search(text_of(smtp.to("dev@acme.example")[0] if smtp.wait_for(2) else None)).group(0)
    # The room is open: the emailed link's page is at once the room's pre-join page; the fragment never
    # travels in a request.
    page.goto(invite_link)
    expect(page.locator("#room-app[data-state=prejoin]")).to_be_visible()
    assert page.url == invite_link

    guest = services.guest_link_create(event=created.event, room_secret=created.room_secret)
    guest_link = links.join_url(event=created.event, invitation=guest, room_secret=created.room_secret)
    page.goto(guest_link)
    expect(page.locator("#room-app[data-state=prejoin]")).to_be_visible()
    assert page.url == guest_link
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []


def test_no_meetings_page_sets_a_cookie(server, page):
    for path in ["/m/new/", "/en/m/new/", "/m/anyroom", "/en/m/anyroom#abc.def", "/m/manage/anyid#x.y"]:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.context.cookies() == [], path


def _status_requests(request_log, room_id: str) -> int:
    return sum(1 for url in request_log.urls if url.endswith(f"/m/{room_id}/status"))


def test_the_waiting_page_asks_once_per_state_change_not_every_second(server, page, request_log):
    """Two tabs polling every second would exceed the status rate limit and show "Too many attempts"."""
    from tessera.meetings import links, services
    from tests.factories import OrganisationFactory

    organisation = OrganisationFactory(name="Acme")

    def meeting(starts_at, created_at):
        created = services.event_create(
            title="Stand-up",
            starts_at=starts_at,
            time_zone="Europe/Paris",
            duration_minutes=15,
            organiser_email="lead@acme.example",
            invitees=["dev@acme.example"],
            organisation=organisation,
            now=created_at,
        )
        invitation = created.event.invitations.get()
        url = links.join_url(event=created.event, invitation=invitation, room_secret=created.room_secret)
        return created.event.room_id, url

    # Ended 20 minutes ago, within the 30-minute grace: the room still opens, and the link goes on to
    # it after one question.
    now = timezone.now()
    room_id, url = meeting(now - timedelta(minutes=35), now - timedelta(minutes=40))
    page.goto(url)
    expect(page.locator("#room-app[data-state=prejoin]")).to_be_visible()
    assert _status_requests(request_log, room_id) == 1

    # Opening in a few seconds: the countdown runs, then one more request finds the room open, and the
    # page shows its button rather than turning the camera on by itself.
    room_id, url = meeting(timezone.now() + timedelta(minutes=15, seconds=8), timezone.now())
    page.goto(url)
    expect(page.locator('[data-show="waiting"]')).to_be_visible()
    expect(page.locator('[data-field="countdown"]')).to_have_text(re.compile(r"00:00:0\d"))
    expect(page.locator('[data-show="open"]')).to_be_visible(timeout=20_000)
    assert _status_requests(request_log, room_id) == 2
    expect(page.locator('[data-show="busy"]')).to_be_hidden()
    expect(page.locator("#room-app")).to_have_attribute("data-state", "link")
    page.locator('[data-show="open"] [data-action="join"]').click()
    expect(page.locator("#room-app[data-state=prejoin]")).to_be_visible()
    assert page.context.cookies() == []

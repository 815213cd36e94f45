"""The meeting key is born in the organiser's browser and never reaches the server (decision 0010).

A real Chromium creates a meeting through the form and manages it from the emailed link; every request
(URL, body, headers), every WebSocket frame, every line the server logs, every database row and every
email received by a real SMTP server is searched for the key. A meeting whose links carry the key is the
control: the same search finds it there.
"""

import json
import logging
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import expect

from tessera.core import sealing
from tessera.core.models import OutboxAttachment, OutboxMessage

MANAGE = re.compile(r"https?://[^\s\"<>]+/m/manage/[A-Za-z0-9_-]+#[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]{43})?")
SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")
PARIS = ZoneInfo("Europe/Paris")


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def server_log():
    """Every line the server logs while the test runs, uvicorn's access log included."""
    capture = Capture()
    capture.setFormatter(logging.Formatter("%(name)s %(message)s"))
    names = ("", "uvicorn", "uvicorn.access", "uvicorn.error", "django.request", "django.db.backends")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        # uvicorn's loggers do not propagate to the root logger: the handler goes on them too.
        if logger.name in {"root", "uvicorn", "uvicorn.access"}:
            logger.addHandler(capture)
    yield capture
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(capture)
        logger.setLevel(level)


@pytest.fixture
def room_reset():
    from tessera.meetings.room import live

    live.reset()
    yield
    live.reset()


class Traffic:
    """What a browser context sent to the server: URLs without fragments, bodies, headers, frames."""

    def __init__(self, context):
        self.sent: list[str] = []
        self.urls: list[str] = []
        self.frames: list[str] = []
        context.on("request", self._request)
        context.on("page", lambda page: page.on("websocket", self._websocket))

    def _request(self, request):
        self.urls.append(request.url)
        self.sent += [request.url.split("#")[0], request.post_data or "", json.dumps(request.headers)]

    def _websocket(self, ws):
        self.urls.append(ws.url)
        ws.on("framesent", lambda payload: self.frames.append(str(payload)))
        ws.on("framereceived", lambda payload: self.frames.append(str(payload)))

    def carrying(self, secret: str) -> list[str]:
        return [s for s in self.sent + self.frames if secret in s]


def email_texts(message) -> list[str]:
    """The raw message and every part decoded, also with calendar lines unfolded (RFC 5545)."""
    texts = [message.as_bytes().decode("utf-8", "replace")]
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return texts + [text.replace("\r\n ", "").replace("\n ", "") for text in texts]


def emails_carrying(smtp, secret: str) -> list:
    return [m for m in smtp.messages if any(secret in text for text in email_texts(m))]


def rows_carrying(secret: str) -> list[str]:
    """Every row of every model, the outbox's sealed bodies and calendar files opened as well."""
    found = []
    for model in apps.get_models():
        for row in model.objects.all().values():
            if secret in json.dumps(row, default=str):
                found.append(model.__name__)
    for message in OutboxMessage.objects.all():
        if secret in sealing.open_text(message.body_text) + sealing.open_text(message.body_html):
            found.append("OutboxMessage (opened)")
    for attachment in OutboxAttachment.objects.all():
        if secret.encode() in sealing.open_bytes(bytes(attachment.content)).replace(b"\r\n ", b""):
            found.append("OutboxAttachment (opened)")
    return found


def create_through_the_form(page, server, *, key_in_links: bool) -> str:
    """Fills and sends the creation form; returns the key the page made, as the created page shows it."""
    start = (timezone.now() + timedelta(minutes=10)).astimezone(PARIS)
    page.goto(server.url + "/en/m/new/")
    page.locator("#id_title").fill("Board meeting")
    page.locator("#id_date").fill(start.date().isoformat())
    page.locator("#id_time").fill(start.strftime("%H:%M"))
    page.locator("#id_time_zone").select_option("Europe/Paris")
    page.locator("#id_duration_minutes").select_option("60")
    page.locator("#id_organiser_email").fill("organiser@example.org")
    page.locator("#id_invitees").fill("ana@example.com, ben@example.com")
    page.locator("#id_language").select_option("en")
    page.locator("#id_age_confirmed").check()
    if key_in_links:
        page.locator("#id_key_in_links").check()
    expect(page.locator("#id_key_in_links")).to_be_checked(checked=key_in_links)
    page.get_by_role("button", name="Create the event").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    room_id = page.locator("#created").get_attribute("data-room-id")
    stored = page.evaluate("(id) => localStorage.getItem('tessera.meetingKey.' + id)", room_id)
    entry = json.loads(stored)
    assert SECRET.match(entry["secret"]), entry
    if not key_in_links:
        expect(page.get_by_test_id("key-value")).to_have_text(entry["secret"])
    return entry["secret"]


def test_the_key_never_reaches_the_server_at_creation_and_management_nor_any_email(
    server, smtp, browser, contexts, server_log, room_reset
):
    context = browser.new_context()
    contexts.append(context)
    traffic = Traffic(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    secret = create_through_the_form(page, server, key_in_links=False)
    expect(page.get_by_text("never sent to us")).to_be_visible()

    # The confirmation email holds the management token alone; this browser adds the key it holds.
    (verification,) = smtp.wait_for(1)
    manage_url = MANAGE.search(verification.get_body(preferencelist=("plain",)).get_content()).group(0)
    assert "." not in manage_url.split("#", 1)[1]
    token = manage_url.split("#", 1)[1]
    page.goto(manage_url)
    expect(page.get_by_test_id("key-held")).to_be_visible()
    assert page.url == f"{manage_url}.{secret}"
    page.get_by_test_id("verify").click()
    expect(page.get_by_test_id("notice")).to_contain_text("2 invitations")
    expect(page.get_by_test_id("key-mode")).to_contain_text("do not carry its key")

    # Management actions that send emails, each a form post of its own.
    page.locator("#id_email").fill("chloe@example.net")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Invitation sent to chloe@example.net")
    page.locator("li", has_text="ana@example.com").get_by_role("button", name="Resend").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Invitation sent again to ana@example.com")
    page.get_by_role("button", name="Create a guest link").click()
    expect(page.get_by_test_id("notice")).to_contain_text("guest link was created")
    guest = page.get_by_test_id("guest-link").input_value()
    assert "/m/" in guest and "." not in guest.split("#", 1)[1]  # the key is handed over in the room
    page.get_by_text("Edit the details").click()
    page.locator("#id_title").fill("Board meeting, moved")
    page.get_by_role("button", name="Save and notify the invitees").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Saved")
    assert page.url == f"{manage_url}.{secret}"

    # The organiser's room link, built by the page, carries the key in its fragment; the room opens.
    room_link = page.get_by_test_id("organiser-room-link")
    href = room_link.get_attribute("href")
    assert href.endswith(f"#o.{token}.{secret}") and "/room/" in href
    room_link.click()
    expect(page.locator("#room-app[data-state=prejoin]")).to_be_visible()
    page.click("#join-button")
    expect(page.locator("#room-app[data-state=in-room]")).to_be_visible()
    page.wait_for_timeout(1000)
    page.goto("about:blank")  # leaves the room, so that the server's last writes are done

    # verification, 2 invitations, the added invitee, the resend, 3 updates
    messages = smtp.wait_for(8)
    assert len(messages) == 8 and not emails_carrying(smtp, secret)
    invitation = next(m for m in messages if m["To"] == "chloe@example.net")
    assert any("its key is not in this email" in " ".join(text.split()) for text in email_texts(invitation))

    assert len(traffic.sent) > 30 and any("/ws/meet/" in url for url in traffic.urls)
    assert traffic.frames, "the room spoke over its WebSocket"
    assert traffic.carrying(secret) == []
    assert any(line.startswith("uvicorn.access") and "/m/manage/" in line for line in server_log.lines)
    assert [line for line in server_log.lines if secret in line] == []
    assert rows_carrying(secret) == []
    assert context.cookies() == []


def test_the_control_links_that_carry_the_key_do_carry_it_in_requests_and_emails(
    server, smtp, browser, contexts, server_log
):
    context = browser.new_context()
    contexts.append(context)
    traffic = Traffic(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    secret = create_through_the_form(page, server, key_in_links=True)
    (verification,) = smtp.wait_for(1)
    manage_url = MANAGE.search(verification.get_body(preferencelist=("plain",)).get_content()).group(0)
    assert manage_url.endswith("." + secret)
    page.goto(manage_url)
    expect(page.get_by_test_id("key-mode")).to_contain_text("carry its key")
    page.get_by_test_id("verify").click()
    expect(page.get_by_test_id("notice")).to_contain_text("2 invitations")
    invitations = smtp.wait_for(3)[1:]
    # The same searches that found nothing above find the key where the organiser chose to send it.
    assert len(emails_carrying(smtp, secret)) == 3
    assert all(any(secret in text for text in email_texts(m)) for m in invitations)
    assert traffic.carrying(secret)  # the creation form and the confirmation posted it


def test_a_device_without_the_key_says_so_and_takes_a_pasted_or_new_key(server, smtp, browser, contexts):
    from tessera.meetings import services

    created = services.event_create(
        title="Stand-up",
        starts_at=timezone.now() + timedelta(days=1),
        time_zone="Europe/Paris",
        duration_minutes=30,
        organiser_email="organiser@example.org",
        invitees=["ana@example.com"],
        language="en",
        age_confirmed=True,
    )
    services.event_verify(event=created.event)
    assert created.room_secret == ""
    context = browser.new_context()
    contexts.append(context)
    traffic = Traffic(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(created.manage_url)
    expect(page.get_by_test_id("key-missing")).to_be_visible()
    expect(page.get_by_test_id("key-missing")).to_contain_text("This device does not hold the meeting key")
    room_link = page.get_by_test_id("organiser-room-link")
    # Without a key the organiser still enters; the room waits for someone who holds it.
    assert room_link.get_attribute("href").endswith(f"#o.{created.manage_token}")
    page.locator("[data-key-input]").fill("not a key")
    page.get_by_role("button", name="Use this key").click()
    expect(page.locator("[data-key-invalid]")).to_be_visible()
    pasted = "P" * 43
    page.locator("[data-key-input]").fill(pasted)
    page.get_by_role("button", name="Use this key").click()
    expect(page.get_by_test_id("key-held")).to_be_visible()
    assert room_link.get_attribute("href").endswith(f"#o.{created.manage_token}.{pasted}")
    assert page.url.endswith(f"#{created.manage_token}.{pasted}")
    # Kept by this browser: the page opened again still holds it.
    page.goto("about:blank")
    page.goto(created.manage_url)
    expect(page.get_by_test_id("key-held")).to_be_visible()
    # A new key made here replaces it.
    page.evaluate("() => localStorage.clear()")
    page.goto("about:blank")
    page.goto(created.manage_url)
    page.get_by_role("button", name="Make a new key on this device").click()
    expect(page.get_by_test_id("key-held")).to_be_visible()
    made = room_link.get_attribute("href").rsplit(".", 1)[1]
    assert SECRET.match(made) and made != pasted
    assert traffic.carrying(pasted) == [] and traffic.carrying(made) == []

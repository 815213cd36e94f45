"""Invitations to 200 people: time to delivery, and nothing lost or doubled across an SMTP outage.

Starts its own ASGI server, SMTP server (aiosmtpd) and SQLite database on loopback, with the test
settings (tasks run in-process once the transaction commits). An organiser creates an event with 200
invitees through the form, confirms it from the link of the confirmation email, and the clock runs from
that confirmation until the SMTP server has accepted all 200 invitations.

The second run stops the SMTP server in the middle of the sending and starts it again two seconds later;
the outbox's periodic sweep (every minute in production, every second here) delivers what failed.

    .venv/bin/python bench/invitations.py
"""

import logging
import os
import re
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings.test")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from tessera.core.models import OutboxMessage  # noqa: E402
from tessera.core.outbox import outbox_deliver_due  # noqa: E402
from tests.conftest import ASGIServer, SMTPServer  # noqa: E402

INVITEES = 200
MANAGE = re.compile(r"(https?://[^\s\"<>]+/m/manage/[A-Za-z0-9_-]+)#([A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43})")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


_parsed: dict[int, tuple[object, str | None]] = {}


def invitations(mailbox) -> list[str]:
    """Message-IDs of the invitations received; each message's headers are read once, so polling this
    often does not take the interpreter away from the server under test."""
    with mailbox.lock:
        messages = list(mailbox.messages)
    found = []
    for message in messages:
        entry = _parsed.get(id(message))
        if entry is None or entry[0] is not message:
            invitation = message["Subject"].startswith("Invitation")
            entry = _parsed[id(message)] = (message, message["Message-ID"] if invitation else None)
        if entry[1] is not None:
            found.append(entry[1])
    return found


def wait(predicate, timeout: float, step: float = 0.01, between=None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if between:
            between()
        time.sleep(step)
    return predicate()


def schedule(client: httpx.Client, server: ASGIServer, smtp: SMTPServer, run: int) -> tuple[str, str]:
    """Create the event through the form; return the management URL and its key from the email."""
    form = client.get("/en/m/new/")
    start = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo("Europe/Paris"))
    before = len(smtp.mailbox.messages)
    response = client.post(
        "/en/m/new/",
        data={
            "csrfmiddlewaretoken": TOKEN.search(form.text).group(1),
            "title": f"Bench {run}",
            "description": "200 invitees",
            "date": start.date().isoformat(),
            "time": "10:00",
            "time_zone": "Europe/Paris",
            "duration_minutes": "60",
            "organiser_email": f"organiser{run}@example.org",
            "invitees": "\n".join(f"person{i}.run{run}@example.com" for i in range(INVITEES)),
            "language": "en",
            "age_confirmed": "on",
        },
        headers={"Origin": server.url},
    )
    assert response.status_code == 200, response.text[:500]
    assert wait(lambda: len(smtp.mailbox.messages) > before, 10)
    verification = smtp.mailbox.messages[before]
    match = MANAGE.search(verification.get_body(preferencelist=("plain",)).get_content())
    return match.group(1), match.group(2)


def confirm(client: httpx.Client, server: ASGIServer, manage_url: str, key: str) -> None:
    page = client.get(manage_url)
    response = client.post(
        manage_url,
        data={"csrfmiddlewaretoken": TOKEN.search(page.text).group(1), "key": key, "action": "verify"},
        headers={"Origin": server.url},
        timeout=300,
    )
    assert response.status_code == 200, response.text[:500]


def run_speed(client, server, smtp) -> float:
    manage_url, key = schedule(client, server, smtp, run=1)
    start = time.perf_counter()
    sender = threading.Thread(target=confirm, args=(client, server, manage_url, key))
    sender.start()
    assert wait(lambda: len(invitations(smtp.mailbox)) >= INVITEES, 120, step=0.02), "invitations missing"
    elapsed = time.perf_counter() - start
    sender.join()
    return elapsed


def run_outage(client, server, smtp) -> tuple[int, int, int]:
    smtp.mailbox.clear()
    manage_url, key = schedule(client, server, smtp, run=2)
    smtp.mailbox.clear()

    def outage():
        wait(lambda: len(invitations(smtp.mailbox)) >= INVITEES // 3, 60, step=0.001)
        smtp.stop()
        time.sleep(2)
        smtp.start()

    breaker = threading.Thread(target=outage)
    breaker.start()
    confirm(client, server, manage_url, key)
    breaker.join()
    # The periodic sweep; the back-off of a first failure is about 15 s.
    wait(lambda: len(set(invitations(smtp.mailbox))) >= INVITEES, 120, step=1, between=outbox_deliver_due)
    time.sleep(1)
    outbox_deliver_due()  # anything still due would show up as a duplicate now
    received = Counter(invitations(smtp.mailbox))
    lost = INVITEES - len(received)
    duplicated = sum(count - 1 for count in received.values())
    retried = OutboxMessage.objects.filter(kind="meetings_invitation", attempts__gt=1).count()
    return lost, duplicated, retried


def main() -> None:
    logging.disable(logging.WARNING)
    call_command("migrate", verbosity=0)
    server = ASGIServer()
    server.start()
    settings.TESSERA_BASE_URL = server.url
    smtp = SMTPServer()
    smtp.start()
    settings.EMAIL_PORT = smtp.mailbox.port
    settings.TESSERA_MEETINGS = {"create_per_ip": (100, 3600)}
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            seconds = run_speed(client, server, smtp)
            print(f"invitations_200_s: {seconds:.2f}", flush=True)
            lost, duplicated, retried = run_outage(client, server, smtp)
            print(f"invitations_lost: {lost}")
            print(f"invitations_duplicated: {duplicated}")
            print(f"invitations_retried_after_outage: {retried}")
    finally:
        smtp.stop()
        server.stop()


if __name__ == "__main__":
    main()

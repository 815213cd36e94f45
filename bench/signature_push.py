"""Pushing 1,000 members' signatures to the local Gmail fake, and nothing lost or doubled when the worker dies.

It runs the production path on the base settings with a fresh SQLite database in a temporary directory:
an administrator connects Google Workspace (tests/fakes' Google fake with Gmail, real HTTP on loopback),
the push is requested through the service the page calls, its commit enqueues the run on SqliteHuey, and
a separate `manage.py run_huey` process (started first, with Huey's default polling) works through it, impersonating each member with the service
account's JWT grant. Printed, as `name: number` lines:

- `signature_render_ms_p99`: rendering one member's signature from their card, 1,000 times;
- `signatures_1000_s`: 1,000 members pushed, with 10 % of Gmail calls answered 429 rateLimitExceeded
  (no Retry-After, as Gmail does), from the request until the run is done;
- `signatures_lost` and `signatures_duplicated`: the same push of a new template, with the worker killed
  (SIGKILL) halfway and started again; the minute sweep resumes the run. Lost members have no signature
  stored by the fake, duplicated ones had theirs stored twice. It exits non-zero when the kill did not
  interrupt the run (nothing done before it, or everything).

    .venv/bin/python bench/signature_push.py [--busy] [--members N]

`--busy` keeps one core busy with a spinning process, as a loaded machine would. About 3 minutes.
"""

import argparse
import atexit
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _busy import busy_core, load_average, load_lines  # noqa: E402 - shared by every benchmark

sys.path.insert(0, str(ROOT))
MEMBERS = 1_000
DOMAIN = "bench.example"
TARGET_S = 60.0


def gmail_fake():
    from tests.fakes.gmail import FakeGmail

    fake = FakeGmail(domain=DOMAIN, organisation="Bench").start()
    fake.fail_paths = re.compile(r"^/gmail/")
    return fake


def django_setup(fake) -> Path:
    """A throw-away SQLite database, migrated, on the production settings pointed at the fake."""
    tmp = Path(tempfile.mkdtemp(prefix="tessera-bench-signatures-"))
    os.environ.update(
        {
            "TESSERA_VAR_DIR": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "tessera.settings.base",
            "TESSERA_LOG_LEVEL": "ERROR",
            "DIRECTORY_GOOGLE_CLIENT_ID": fake.client_id,
            "DIRECTORY_GOOGLE_CLIENT_SECRET": fake.client_secret,
            "DIRECTORY_GOOGLE_AUTHORIZE_URL": fake.url + "/o/oauth2/v2/auth",
            "DIRECTORY_GOOGLE_TOKEN_URL": fake.url + "/token",
            "DIRECTORY_GOOGLE_REVOKE_URL": fake.url + "/revoke",
            "DIRECTORY_GOOGLE_USERINFO_URL": fake.url + "/v1/userinfo",
            "DIRECTORY_GOOGLE_ADMIN_URL": fake.url,
            "DIRECTORY_GOOGLE_GMAIL_URL": fake.url,
            "DIRECTORY_GOOGLE_SERVICE_ACCOUNT_KEY": json.dumps(fake.service_account()),
        }
    )
    os.environ.setdefault("TESSERA_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ.pop("REDIS_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return tmp


def organisation_with_members(fake, count: int):
    """An organisation whose owner connected Google Workspace, `count` members with cards, a default template."""
    from tessera.accounts.models import User
    from tessera.accounts.services import membership_join, organisation_create
    from tessera.cards.services.profiles import card_create
    from tessera.signatures.services.templates import STARTER_HTML, signature_template_save
    from tests.directory.oauth_support import google_connect

    admin = User.objects.create_user(email=f"ada@{DOMAIN}", password=None, full_name="Ada Lovelace")
    organisation = organisation_create(owner=admin, name="Bench")
    for i in range(count - 1):
        email = f"member{i:04d}@{DOMAIN}"
        fake.add_account(email, f"Member {i}")
        user = User.objects.create_user(email=email, password=None, full_name=f"Member {i}")
        membership_join(organisation=organisation, user=user, role="member")
        card_create(
            owner=user, organisation=organisation, first_name="Member", last_name=f"{i:04d}",
            job_title="Engineer", department=("Sales", "Support", "Research")[i % 3],
            phones=[{"kind": "work", "number": f"+33 1 42 68 {i % 100:02d} {i // 100:02d}"}],
        )  # fmt: skip
    from tessera.cards.models import Card

    Card.objects.filter(owner=admin, organisation=organisation).update(first_name="Ada", last_name="Lovelace")
    template = signature_template_save(
        organisation=organisation, actor=admin, name="Default", html=STARTER_HTML, is_default=True
    )
    google_connect(organisation=organisation, actor=admin)
    return organisation, admin, template


def render_p99(organisation) -> float:
    from tessera.signatures.rendering import signature_render
    from tessera.signatures.selectors import member_profiles, template_for, templates_of

    templates = list(templates_of(organisation=organisation))
    profiles = list(member_profiles(organisation=organisation).values())
    timings = []
    for profile in profiles[:1000]:
        template = template_for(profile, templates)
        started = time.perf_counter()
        signature_render(template=template, profile=profile, organisation_name=organisation.name)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return timings[int(len(timings) * 0.99) - 1]


def worker(tmp: Path) -> subprocess.Popen:
    """The task queue's consumer, as a deployment runs it beside the web process."""
    log = open(tmp / "worker.log", "ab")  # closed with the process
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_huey", "--workers", "1"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def push(organisation, admin):
    from django.db import transaction

    from tessera.signatures.services.push import signature_push_request

    with transaction.atomic():
        return signature_push_request(organisation=organisation, actor=admin, everyone=True)


def done(run) -> int:
    from tessera.signatures.models import PushItem

    return run.items.exclude(status__in=[PushItem.Status.PENDING, PushItem.Status.SENDING]).count()


def wait_done(run, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            return run
        time.sleep(0.1)
    raise SystemExit(f"the run did not finish in {timeout:.0f} s: {done(run)} members done")


def counted(fake, emails) -> tuple[int, int]:
    lost = sum(1 for email in emails if not fake.applied.get(email))
    duplicated = sum(1 for email in emails if len(fake.applied.get(email, [])) > 1)
    return lost, duplicated


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", action="store_true", help="keep one core busy for the whole run")
    parser.add_argument("--members", type=int, default=MEMBERS, help="members pushed in each run")
    args = parser.parse_args()
    # Printed last, even when the run fails: the figures above were taken under this load.
    atexit.register(lambda before: print(load_lines(before)), load_average())
    fake = gmail_fake()
    tmp = django_setup(fake)
    busy = busy_core(900) if args.busy else None
    consumer = None
    try:
        consumer = worker(tmp)  # already running when the administrator pushes, as in a deployment
        started = time.perf_counter()
        organisation, admin, template = organisation_with_members(fake, args.members)
        print(
            f"# {args.members} members with cards set up in {time.perf_counter() - started:.1f} s", flush=True
        )
        p99 = render_p99(organisation)
        emails = [email for email in fake.accounts if email.endswith("@" + DOMAIN)]

        fake.fail_ratio, fake.fail_status, fake.fail_retry_after = 0.10, 429, None
        fake.clear_log()
        started = time.perf_counter()
        run = wait_done(push(organisation, admin), 600)
        push_s = time.perf_counter() - started
        busy_answers = len([r for r in fake.calls("PATCH", "/gmail/")]) - sum(map(len, fake.applied.values()))
        first = run.items.order_by("finished_at").values_list("finished_at", flat=True).first()
        print(
            f"# first run: {run.status}, {busy_answers} Gmail calls refused and retried; first member done"
            f" {(first - run.created_at).total_seconds():.1f} s after the request",
            flush=True,
        )
        assert run.status == "done" and counted(fake, emails) == (0, 0), counted(fake, emails)

        # The same push of a changed template: every member's signature changes; the worker dies halfway.
        from tessera.signatures.services.templates import signature_template_save

        signature_template_save(
            organisation=organisation, actor=admin, template=template, name="Default",
            html=template.html.replace("font-size:13px", "font-size:12px"), is_default=True,
        )  # fmt: skip
        fake.applied.clear()
        run = push(organisation, admin)
        deadline = time.monotonic() + 300
        while done(run) < len(emails) // 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        before = done(run)
        consumer.send_signal(signal.SIGKILL)
        consumer.wait()
        print(f"# worker killed with {before} of {len(emails)} members done", flush=True)
        consumer = worker(tmp)
        started = time.perf_counter()
        run = wait_done(run, 240)
        print(f"# resumed and finished {time.perf_counter() - started:.0f} s after the restart", flush=True)
        lost, duplicated = counted(fake, emails)
    finally:
        if consumer is not None:
            consumer.kill()
            consumer.wait()
        if busy is not None:
            busy.kill()
            busy.wait()
        fake.stop()
    if not 0 < before < len(emails):
        raise SystemExit("the kill did not interrupt the run: it proves nothing")
    print(f"signature_render_ms_p99: {p99:.2f}")
    print(f"signatures_1000_s: {push_s * 1000 / args.members:.1f}")
    print(f"signatures_lost: {lost}")
    print(f"signatures_duplicated: {duplicated}")
    if push_s * 1000 / args.members > TARGET_S or lost or duplicated:
        sys.exit(1)


if __name__ == "__main__":
    main()

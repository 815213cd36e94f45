"""Entra ID sync against the local Graph fake: the initial sync of 10,000 people, a delta of 100 changes, and
nothing lost or doubled when Graph throttles and forgets its delta state.

It runs the sync's task body (services.sync.sync_run) on the production settings with a fresh SQLite database
in a temporary directory, against tests/fakes' Microsoft fake on loopback (real HTTP, Graph's paging,
members@delta spread over pages). The token comes from the connection's sealed refresh token, as in
production. Printed, as `name: number` lines:

- `directory_initial_users_per_s`: 10,000 users and 300 groups (30 members each) read, and turned into
  accounts, members, cards and groups, divided by the wall time of the whole run (groups included);
- `directory_delta_100_ms`: a delta run of 100 changes (60 changed titles, 20 disabled accounts, 10 removed
  people, 10 group membership changes), end to end;
- `directory_lost` and `directory_duplicated`: the same initial sync for another tenant, with 429s on 10 % of
  Graph requests and every delta state dropped once mid-run (the next page answers 410 Gone, so everything
  is read again); lost people have no card, no membership or no welcome email (sent by the follow-up job
  the sync leaves them to), duplicated ones have two cards, two memberships or two welcome emails.

    .venv/bin/python bench/directory_sync.py [--busy] [--users N]

`--busy` keeps one core busy with a spinning process, as a loaded machine would. About 2 minutes.
"""

import argparse
import atexit
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _busy import busy_core, load_average, load_lines  # noqa: E402 - shared by every benchmark

USERS = 10_000
GROUPS = 300
MEMBERS_PER_GROUP = 30


def django_setup() -> Path:
    """A throw-away SQLite database under a temporary directory, migrated, on the production settings."""
    tmp = Path(tempfile.mkdtemp(prefix="tessera-bench-directory-"))
    os.environ["TESSERA_VAR_DIR"] = str(tmp)
    os.environ.setdefault("TESSERA_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tessera.settings.base"
    os.environ["TESSERA_LOG_LEVEL"] = "ERROR"
    for name in ("REDIS_URL",):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return tmp


def tenant(domain: str, users: int):
    """A started Microsoft fake holding `users` people and GROUPS groups, settings pointed at it."""
    from django.conf import settings

    from tests.fakes.microsoft import FakeMicrosoft

    fake = FakeMicrosoft(organisation=domain.split(".")[0].title(), domain=domain).start()
    fake.populate(users=users, groups=GROUPS, members_per_group=MEMBERS_PER_GROUP)
    os.environ["REQUESTS_CA_BUNDLE"] = fake.ca_file
    settings.DIRECTORY = {
        **settings.DIRECTORY,
        "MICROSOFT_CLIENT_ID": fake.client_id,
        "MICROSOFT_CLIENT_SECRET": fake.client_secret,
        "MICROSOFT_AUTHORITY_HOST": fake.authority_host,
        "GRAPH_URL": fake.url + "/v1.0",
    }
    return fake


def connect(fake, name: str):
    """An organisation whose owner connected the fake's tenant and confirmed a dry run."""
    from django.utils import timezone

    from tessera.accounts.models import User
    from tessera.accounts.services import organisation_create
    from tessera.directory.crypto import token_seal
    from tessera.directory.microsoft import SCOPES
    from tessera.directory.models import Connection, Provider

    owner = User.objects.create_user(email=f"owner@{name}.bench", password=None, full_name="Owner")
    organisation = organisation_create(owner=owner, name=name)
    return Connection.objects.create(
        organisation=organisation,
        provider=Provider.MICROSOFT,
        tenant_id=fake.tenant_id,
        refresh_token=token_seal(fake.issue_refresh_token(scopes=sorted(SCOPES))),
        confirmed_at=timezone.now(),
        sync_enabled=True,
    )


def sync(connection, kind: str, **options):
    from tessera.directory.graph import GraphClient
    from tessera.directory.models import SyncRun
    from tessera.directory.services.sync import graph_client, sync_run

    run = SyncRun.objects.create(connection=connection, kind=kind)
    client = graph_client(connection, sleep=options.pop("sleep", time.sleep))
    assert isinstance(client, GraphClient)
    inner = options.pop("after_page", None)
    marks = {}

    def after_page(run, resource, pages):
        marks.setdefault(resource, time.perf_counter())  # the end of the first page of each resource
        if inner is not None:
            inner(run, resource, pages)

    try:
        started = time.perf_counter()
        run = sync_run(run_id=run.pk, client=client, after_page=after_page, **options)
        elapsed = time.perf_counter() - started
    finally:
        client.close()
    assert run.status == SyncRun.Status.DONE, run.error
    if "groups" in marks:
        print(f"# {kind}: users read and applied in about {marks['groups'] - started:.1f} s", flush=True)
    return run, elapsed, client.requests


def changes(fake) -> None:
    """100 changes: 60 titles, 20 disabled accounts, 10 people removed, 10 group memberships."""
    ids = list(fake.users)
    for user_id in ids[:60]:
        fake.update_user(user_id, jobTitle="Regional Director")
    for user_id in ids[60:80]:
        fake.update_user(user_id, accountEnabled=False)
    for user_id in ids[80:90]:
        fake.delete_user(user_id)
    groups = list(fake.groups)
    for i, user_id in enumerate(ids[100:110]):
        fake.add_members(groups[i], [user_id])


def counted(connection, fake) -> tuple[int, int]:
    """(lost, duplicated) people of the fake's directory in the connection's organisation."""
    from tessera.accounts.models import Membership
    from tessera.cards.models import Card
    from tessera.core.models import OutboxMessage
    from tessera.directory.services.people_bulk import people_welcome_send

    addresses = {u["mail"].lower() for u in fake.users.values()}
    organisation = connection.organisation
    # The welcome emails a sync leaves due go out with the follow-up job, run here as the worker would.
    people_welcome_send(organisation_id=organisation.pk)
    cards = Counter(
        Card.objects.filter(organisation=organisation, owner__email__in=addresses).values_list(
            "owner__email", flat=True
        )
    )
    members = Counter(
        Membership.objects.filter(organisation=organisation, user__email__in=addresses).values_list(
            "user__email", flat=True
        )
    )
    welcomes = Counter(
        OutboxMessage.objects.filter(recipient__in=addresses).values_list("recipient", flat=True)
    )
    lost = sum(1 for a in addresses if not cards[a] or not members[a] or not welcomes[a])
    duplicated = sum(1 for a in addresses if cards[a] > 1 or members[a] > 1 or welcomes[a] > 1)
    return lost, duplicated


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", action="store_true", help="keep one core busy for the whole run")
    parser.add_argument("--users", type=int, default=USERS, help="people in each tenant")
    args = parser.parse_args()
    # Printed last, even when the run fails: the figures above were taken under this load.
    atexit.register(lambda before: print(load_lines(before)), load_average())
    django_setup()
    from tessera.directory.models import ExternalGroup, SyncRun

    busy = busy_core(600) if args.busy else None
    try:
        fake = tenant("contoso.example", args.users)
        connection = connect(fake, "contoso")
        initial, initial_s, requests = sync(connection, SyncRun.Kind.FULL)
        groups = ExternalGroup.objects.filter(organisation=connection.organisation).count()
        print(
            f"# initial: {initial.created} created, {initial.failed} failed, {groups} groups,"
            f" {initial.pages} pages, {requests} requests in {initial_s:.1f} s",
            flush=True,
        )
        changes(fake)
        delta, delta_s, _requests = sync(connection, SyncRun.Kind.DELTA)
        print(
            f"# delta: {delta.updated} updated, {delta.deactivated} deactivated, {delta.unchanged} unchanged,"
            f" {delta.pages} pages",
            flush=True,
        )
        fake.stop()

        rough = tenant("fabrikam.example", args.users)
        rough.fail_ratio, rough.fail_retry_after = 0.10, 1
        rough.page_size = max(10, min(100, args.users // 100))  # about a hundred pages, whatever the size
        rough_connection = connect(rough, "fabrikam")
        dropped = []

        def drop_state_once(run, resource, pages):
            if resource == "users" and pages == 30 and not dropped:  # a third of the way through the users
                rough.invalidate_delta_tokens()
                dropped.append(pages)

        throttled = []
        rough_run, rough_s, rough_requests = sync(
            rough_connection,
            SyncRun.Kind.FULL,
            after_page=drop_state_once,
            sleep=lambda s: (throttled.append(s), time.sleep(s)),
        )
        lost, duplicated = counted(rough_connection, rough)
        resyncs = len(rough.calls("GET", "/users/delta")) - len(
            [r for r in rough.calls("GET", "/users/delta") if "$skiptoken" in r.query]
        )
        print(
            f"# throttled run: {rough_run.created} created, {len(throttled)} waits for Retry-After, {resyncs} starts of /users/delta"
            f" (one is the resync), {rough_requests} requests in {rough_s:.1f} s",
            flush=True,
        )
        rough.stop()
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    assert dropped and throttled, "the rough run saw no 410 or no 429: it proves nothing"
    print(f"directory_initial_users_per_s: {args.users / initial_s:.0f}")
    print(f"directory_delta_100_ms: {delta_s * 1000:.0f}")
    print(f"directory_lost: {lost}")
    print(f"directory_duplicated: {duplicated}")


if __name__ == "__main__":
    main()

"""Every URL of the directory's integration page, tried by everyone who must not get in.

ROUTES names every URL pattern of tessera/directory/urls.py; test_every_route_is_in_the_table fails when
one is added without being listed here. Organisation A is connected to Google Workspace and Entra ID
(through the fakes), has a dry run awaiting confirmation, a finished sync and a SCIM token. The attempts
are made by:
- `anonymous`: nobody signed in, sent to sign in (302), or refused by the CSRF check first (403);
- `member`: a plain member of A;
- `outsider`: the owner (so an administrator) of organisation B, under A's address, and under B's own
  address with A's records (runs) in it;
- `staff`: a back-office staff account with no seat in A.
Each gets 403, 404 or 405 and leaves A exactly as it was: A's whole directory state is compared before and
after every attempt. The callbacks are tried with a state another browser started: refused, nothing kept.
"""

import ssl
from dataclasses import dataclass

import httpx
import pytest
from django.urls import URLPattern

from tessera.accounts.models import Membership
from tessera.directory import urls
from tessera.directory.models import (
    Connection,
    ExternalGroup,
    ExternalUser,
    Provider,
    ScimToken,
    SyncRun,
    WriteBack,
)
from tessera.directory.services.scim import scim_token_rotate
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

from .test_pages import connect_google, connect_microsoft, entra_people, run_dry, url

pytestmark = pytest.mark.django_db
FORBIDDEN = (403, 404, 405)


@dataclass
class World:
    org: object
    other_org: object
    admin: object
    member: object
    olga: object  # owner of B
    staff: object
    planned: SyncRun  # A's dry run awaiting confirmation
    synced: SyncRun  # A's finished full sync
    group: ExternalGroup  # a group of A with members
    outside_member: ExternalUser  # a person of A not in that group
    callbacks: dict  # provider -> the callback URL (code and state) a browser of A's admin was sent to


@pytest.fixture
def world(client, fake_microsoft, fake_google, django_capture_on_commit_callbacks) -> World:
    admin = UserFactory(email="alice@alpha.example")
    org = OrganisationFactory(owner=admin, name="Alpha")
    olga = UserFactory(email="olga@beta.example")
    other_org = OrganisationFactory(owner=olga, name="Beta")
    member = UserFactory(email="bob@alpha.example")
    MembershipFactory(organisation=org, user=member)
    staff = UserFactory(email="staff@tessera.example", is_staff=True)
    entra_people(fake_microsoft)
    client.force_login(admin)
    connect_google(client, org, fake_google)
    connect_microsoft(client, org, fake_microsoft)
    first = run_dry(client, org, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("dry_run_confirm", org, first.pk))
    synced = SyncRun.objects.get(connection__organisation=org, kind=SyncRun.Kind.FULL)
    planned = run_dry(client, org, django_capture_on_commit_callbacks)
    scim_token_rotate(organisation=org, actor=admin)
    callbacks = {}
    for provider, verify in (
        ("google", True),
        ("microsoft", ssl.create_default_context(cafile=fake_microsoft.ca_file)),
    ):
        response = client.post(url(f"{provider}_connect", org))
        consent = httpx.get(response["Location"], verify=verify, follow_redirects=False)
        callbacks[provider] = consent.headers["location"].removeprefix("http://testserver")
    client.logout()
    group = ExternalGroup.objects.filter(organisation=org, members__isnull=False).first()
    return World(
        org=org,
        other_org=other_org,
        admin=admin,
        member=member,
        olga=olga,
        staff=staff,
        planned=planned,
        synced=synced,
        group=group,
        outside_member=ExternalUser.objects.filter(organisation=org).exclude(groups=group).first(),
        callbacks=callbacks,
    )


def state_of(world: World) -> list:
    """Everything of organisation A's directory (and its seats) that an attempt could change."""
    org = world.org
    return [
        list(Connection.objects.filter(organisation=org).order_by("pk").values()),
        list(SyncRun.objects.filter(connection__organisation=org).order_by("pk").values()),
        list(ExternalUser.objects.filter(organisation=org).order_by("pk").values()),
        list(ExternalGroup.objects.filter(organisation=org).order_by("pk").values()),
        list(ScimToken.objects.filter(organisation=org).values()),
        list(WriteBack.objects.filter(connection__organisation=org).order_by("pk").values()),
        list(Membership.objects.filter(organisation=org).order_by("pk").values()),
        Connection.objects.filter(provider=Provider.MICROSOFT, tenant_id=_tenant(world)).count(),
    ]


def _tenant(world: World) -> str:
    return Connection.objects.get(organisation=world.org, provider=Provider.MICROSOFT).tenant_id


@dataclass
class Attempt:
    actor: str  # anonymous | member | outsider | staff
    method: str
    url: str
    data: dict | None = None
    expect: str = "forbidden"  # forbidden | signin | refused (302 away, an error message, nothing kept)


def _everyone(w: World, method: str, name: str, *args, data=None, own_too: bool = True) -> list[Attempt]:
    """Each outsider under A's address; with `own_too`, the outsider also under B's own with A's records."""
    a = url(name, w.org, *args)
    attempts = [
        Attempt("anonymous", method, a, data, "signin"),
        Attempt("member", method, a, data),
        Attempt("outsider", method, a, data),
        Attempt("staff", method, a, data),
    ]
    if own_too:
        attempts.append(Attempt("outsider", method, url(name, w.other_org, *args), data))
    return attempts


def _callback(w: World, provider: str) -> list[Attempt]:
    """A's admin's browser was sent back with a code: another browser presents it."""
    target = w.callbacks[provider]
    return [
        Attempt("anonymous", "GET", target, expect="signin"),
        *[Attempt(actor, "GET", target, expect="refused") for actor in ("member", "outsider", "staff")],
        Attempt("outsider", "GET", f"/directory/{provider}/callback/?code=x&state=forged", expect="refused"),
    ]


SETTINGS = {"scope": "domain", "scope_domains": "evil.example", "map_first_name": "givenName"}

ROUTES = {
    "directory:integration": lambda w: _everyone(w, "GET", "integration", own_too=False),
    "directory:run_status": lambda w: _everyone(w, "GET", "run_status", w.synced.pk),
    "directory:google_connect": lambda w: _everyone(w, "POST", "google_connect", own_too=False),
    "directory:google_disconnect": lambda w: _everyone(w, "POST", "google_disconnect", own_too=False),
    "directory:microsoft_connect": lambda w: _everyone(w, "POST", "microsoft_connect", own_too=False),
    "directory:microsoft_disconnect": lambda w: _everyone(w, "POST", "microsoft_disconnect", own_too=False),
    "directory:settings_save": lambda w: _everyone(w, "POST", "settings_save", data=SETTINGS, own_too=False),
    "directory:groups_save": lambda w: _everyone(
        w, "POST", "groups_save", data={f"role_{w.group.pk}": "admin"}, own_too=False
    ),
    "directory:group_create": lambda w: _everyone(
        w, "POST", "group_create", data={"display_name": "Rogue", "role": "admin"}, own_too=False
    ),
    "directory:group": lambda w: _everyone(w, "GET", "group", w.group.pk),
    "directory:group_rename": lambda w: _everyone(
        w, "POST", "group_rename", w.group.pk, data={"display_name": "Rogue"}
    ),
    "directory:group_member_add": lambda w: _everyone(
        w, "POST", "group_member_add", w.group.pk, data={"member": w.outside_member.pk}
    ),
    "directory:group_member_remove": lambda w: _everyone(
        w, "POST", "group_member_remove", w.group.pk, w.group.members.first().pk
    ),
    "directory:writebacks_retry": lambda w: _everyone(w, "POST", "writebacks_retry", own_too=False),
    "directory:dry_run_start": lambda w: _everyone(w, "POST", "dry_run_start", own_too=False),
    "directory:dry_run": lambda w: _everyone(w, "GET", "dry_run", w.planned.pk),
    "directory:dry_run_confirm": lambda w: _everyone(w, "POST", "dry_run_confirm", w.planned.pk),
    "directory:sync_now": lambda w: _everyone(w, "POST", "sync_now", own_too=False),
    "directory:scim_token_rotate": lambda w: _everyone(w, "POST", "scim_token_rotate", own_too=False),
    "directory:scim_token_revoke": lambda w: _everyone(w, "POST", "scim_token_revoke", own_too=False),
    "directory:google_callback": lambda w: _callback(w, "google"),
    "directory:microsoft_callback": lambda w: _callback(w, "microsoft"),
}


def test_every_route_is_in_the_table():
    """A new URL fails here until its attempts are written in ROUTES."""
    names = set()
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern) and pattern.name, pattern
        names.add(f"directory:{pattern.name}")
    assert sorted(names - set(ROUTES)) == [], "routes missing from ROUTES"
    assert sorted(set(ROUTES) - names) == [], "ROUTES names routes that no longer exist"


def _sign_in(actor: str, w: World, client):
    people = {"member": w.member, "outsider": w.olga, "staff": w.staff}
    if actor in people:
        client.force_login(people[actor])
    else:
        client.logout()


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_nobody_else_gets_in(route, world, client, django_capture_on_commit_callbacks):
    for attempt in ROUTES[route](world):
        before = state_of(world)
        _sign_in(attempt.actor, world, client)
        with django_capture_on_commit_callbacks(execute=True):
            if attempt.method == "GET":
                response = client.get(attempt.url)
            else:
                response = client.post(attempt.url, attempt.data or {})
        where = f"{route}: {attempt.actor} {attempt.method} {attempt.url}"
        status = response.status_code
        if attempt.expect == "forbidden":
            assert status in FORBIDDEN, (where, status)
        elif attempt.expect == "signin":
            assert status == 403 or (status == 302 and "/accounts/login/" in response["Location"]), (
                where,
                status,
            )
        else:  # refused: back to the personal space, with the error
            assert status == 302 and "/directory/" not in response["Location"], (where, status)
        body = response.content.decode("utf-8", "replace")
        for secret in ("Contoso", "Example Org", "alice@alpha.example", world.org.slug):
            assert secret not in body or secret in attempt.url, (where, secret)
        assert state_of(world) == before, where

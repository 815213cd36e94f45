"""Every signatures URL, tried by everyone who must not get in, across two organisations.

ROUTES names every URL pattern of the signatures app (organisation admin, the member's own signature, the
public images); test_every_route_is_in_the_table fails when one is added without being listed here. The
attempts are made by `outsider` (the owner of organisation B, under A's address and under B's own with A's
objects in it), `peer` (a plain member of A, for admin-only views) and `anonymous` (sent to sign in, or
refused by the CSRF check first). Each must get 403 or 404 (or a page without A's data) and leave A's
templates and the security log exactly as they were.
"""

import uuid
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern

from tessera.cards import services as card_services
from tessera.core.models import SecurityEvent
from tessera.signatures import public_urls, urls
from tessera.signatures.models import PushRun, SignatureTemplate
from tessera.signatures.rendering import logo_version
from tessera.signatures.services.templates import signature_template_save
from tests.signatures.render_support import *  # noqa: F403
from tests.signatures.render_support import PASSWORD, STARTER_HTML, png_bytes

FORBIDDEN = (403, 404)


@dataclass
class World:
    org: object
    other_org: object
    bob: object  # member of A, whose signature is under attack
    carol: object  # another plain member of A
    olga: object  # owner of B
    template: SignatureTemplate
    other_template: SignatureTemplate
    markers: list = field(default_factory=list)  # text of A that no outsider may see


@pytest.fixture
def world(org, admin_user, member, photo_card, other_org, other_admin) -> World:
    template = signature_template_save(
        organisation=org, actor=admin_user, name="Alpha secret style", html=STARTER_HTML, is_default=True,
        logo=png_bytes(),
    )  # fmt: skip
    other = signature_template_save(
        organisation=other_org,
        actor=other_admin,
        name="Beta style",
        html="<p>{{ name }}</p>",
        is_default=True,
    )
    invitation = card_services.invitation_create(
        organisation=org, email="carol@alpha.example", invited_by=admin_user
    )
    carol, carol_card = card_services.invitation_accept(
        invitation=invitation, password=PASSWORD, full_name="Carol"
    )
    card_services.card_update(card=carol_card, changes={"first_name": "Carol", "last_name": "Peer"})
    return World(
        org=org,
        other_org=other_org,
        bob=member,
        carol=carol,
        olga=other_admin,
        template=template,
        other_template=other,
        markers=["Alpha secret style", "Builder", photo_card.slug, "bob@alpha.example"],
    )


def state_of(world: World) -> list:
    return [
        list(SignatureTemplate.objects.filter(organisation=world.org).order_by("pk").values()),
        SignatureTemplate.objects.count(),
        SecurityEvent.objects.filter(action__startswith="signatures.").count(),
        list(PushRun.objects.order_by("pk").values("pk", "status", "cancel_requested")),
    ]


@dataclass
class Attempt:
    actor: str  # outsider | peer | anonymous
    method: str
    url: str
    data: dict | None = None
    expect: str = "forbidden"  # forbidden | signin | hidden (200 without A's data) | <status>


def _admin(w: World, method: str, path: str, data=None, *, own_slug_too: bool = True):
    """An organisation-admin URL under A's address; with `own_slug_too`, also under B's address."""
    url = f"/cards/org/{w.org.slug}/signatures/{path}"
    attempts = [
        Attempt("outsider", method, url, data),
        Attempt("peer", method, url, data),
        Attempt("anonymous", method, url, data, "signin"),
    ]
    if own_slug_too:
        attempts.append(Attempt("outsider", method, f"/cards/org/{w.other_org.slug}/signatures/{path}", data))
    return attempts


def _mine(w: World, path: str):
    """The member's own signature: nobody outside A has one there; a stranger is not sent to it."""
    url = f"/cards/signature/{w.org.slug}/{path}"
    return [Attempt("outsider", "GET", url), Attempt("anonymous", "GET", url, expect="signin")]


def _push_run(w: World) -> int:
    """A's push, queued (the task queue is not run here) the way the push page queues it."""
    from tessera.signatures.services.push import _run_create

    run = _run_create(organisation=w.org, actor=w.org.memberships.get(role="owner").user, user_ids=[w.bob.pk],
                      label="everyone", kind="manual")  # fmt: skip
    return run.pk


TEMPLATE_POST = {"name": "Hacked", "html": "<p>{{ name }}</p>", "is_default": "on"}

ROUTES = {
    "signatures:signatures": lambda w: _admin(w, "GET", "", own_slug_too=False),
    "signatures:template_new": lambda w: [
        *_admin(w, "GET", "new/", own_slug_too=False),
        *_admin(w, "POST", "new/", TEMPLATE_POST, own_slug_too=False),
    ],
    "signatures:template": lambda w: [
        *_admin(w, "GET", f"{w.template.pk}/"),
        *_admin(w, "POST", f"{w.template.pk}/", TEMPLATE_POST),
    ],
    "signatures:template_delete": lambda w: _admin(w, "POST", f"{w.template.pk}/delete/"),
    "signatures:preview": lambda w: [
        *_admin(w, "POST", "preview/", {"html": "<p>{{ name }}</p>", "member": w.bob.pk}, own_slug_too=False),
        # Under B's own address: A's member is unknown there (the sample is shown), A's template is not found.
        Attempt(
            "outsider",
            "POST",
            f"/cards/org/{w.other_org.slug}/signatures/preview/",
            {"html": "<p>{{ name }}</p>", "member": w.bob.pk},
            "hidden",
        ),
        Attempt(
            "outsider",
            "POST",
            f"/cards/org/{w.other_org.slug}/signatures/preview/",
            {"html": '<img src="{{ logo_url }}">', "template": w.template.pk},
        ),
    ],
    "signatures:outlook": lambda w: _admin(w, "GET", "outlook.zip", own_slug_too=False),
    "signatures:export": lambda w: _admin(w, "GET", "export.json", own_slug_too=False),
    # --- pushes to Gmail: A's queued run is neither shown, followed nor cancelled by anyone else
    "signatures:push": lambda w: [
        *_admin(w, "GET", "push/", own_slug_too=False),
        *_admin(w, "POST", "push/", {"who": "everyone"}, own_slug_too=False),
    ],
    "signatures:push_run": lambda w: _admin(w, "GET", f"push/{_push_run(w)}/"),
    "signatures:push_status": lambda w: _admin(w, "GET", f"push/{_push_run(w)}/status.json"),
    "signatures:push_cancel": lambda w: _admin(w, "POST", f"push/{_push_run(w)}/cancel/"),
    "signatures:mine": lambda w: _mine(w, ""),
    "signatures:mine_frame": lambda w: _mine(w, "frame/"),
    "signatures:mine_download": lambda w: _mine(w, "signature.htm"),
    # --- public images: a guessed or forged address finds nothing
    "signatures_public:logo": lambda w: [
        Attempt("anonymous", "GET", f"/s/logo/{uuid.uuid4()}-{logo_version(w.template)}.png", expect="404"),
        Attempt("anonymous", "GET", f"/s/logo/{w.other_template.public_id}-0.png", expect="404"),  # no logo
    ],
    "signatures_public:qr": lambda w: [
        Attempt("anonymous", "GET", "/s/qr/Imh0dHBzOi8vZXZpbC5leGFtcGxlIg:forged.png", expect="404"),
    ],
}


def _route_names() -> set[str]:
    names = set()
    for namespace, patterns in (
        ("signatures", urls.urlpatterns),
        ("signatures_public", public_urls.urlpatterns),
    ):
        for pattern in patterns:
            assert isinstance(pattern, URLPattern) and pattern.name, pattern
            names.add(f"{namespace}:{pattern.name}")
    return names


def test_every_route_is_in_the_table():
    """A new URL fails here until its attempts are written in ROUTES."""
    names = _route_names()
    assert sorted(names - set(ROUTES)) == [], "routes missing from ROUTES"
    assert sorted(set(ROUTES) - names) == [], "ROUTES names routes that no longer exist"


def _client_for(actor: str, w: World, client):
    if actor == "outsider":
        client.force_login(w.olga)
    elif actor == "peer":
        client.force_login(w.carol)
    else:
        client.logout()


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_nobody_else_gets_in(route, world, client):
    attempts = ROUTES[route](world)
    assert attempts, route
    for attempt in attempts:
        before = state_of(world)
        _client_for(attempt.actor, world, client)
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
        elif attempt.expect == "hidden":
            assert status == 200, (where, status)
        else:
            assert status == int(attempt.expect), (where, status)
        body = response.content.decode("utf-8", "replace")
        leaked = [m for m in world.markers if m in body and m not in attempt.url]
        assert leaked == [], (where, leaked)
        assert state_of(world) == before, where


def test_the_rows_above_are_open_to_those_they_belong_to(client, world):
    """The contrast: A's admin, A's member and any mail reader get what the outsiders were refused."""
    client.force_login(world.carol)
    assert client.get(f"/cards/signature/{world.org.slug}/").status_code == 200
    assert "Carol Peer" in client.get(f"/cards/signature/{world.org.slug}/frame/").content.decode()
    client.logout()
    version = logo_version(world.template)
    assert client.get(f"/s/logo/{world.template.public_id}-{version}.png").status_code == 200

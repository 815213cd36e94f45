"""Every cards URL and API route, tried by everyone who must not get in, across two organisations.

The table ROUTES names every URL pattern of the cards app (personal space, organisation admin,
integrations, members, public pages) and every route of its API; test_every_route_is_in_the_table fails
when one is added without being listed here. For each route, the attempts are made by:
- `outsider`: the owner (so an administrator) of organisation B, against organisation A's objects, both
  under A's address and under B's own address with A's object in it;
- `peer`: a plain member of organisation A (for admin-only views, and for another member's card);
- `anonymous`: nobody signed in, redirected to the sign-in page by the personal space (302, or 403 when
  the CSRF check refuses a POST first) and answered 401 by the API;
- `other_key`: an API key of organisation B.
Each must get 403 or 404 (or, for a list, an answer without A's data) and leave A's data exactly as it
was: the whole state of organisation A is compared before and after every attempt.
"""

import io
import re
import uuid
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, reverse

from tessera.accounts.models import Membership, OrganisationApiKey
from tessera.accounts.services import api_key_create
from tessera.cards import api, public_urls, services, urls
from tessera.cards.models import (
    Card,
    CardInvitation,
    CardsSettings,
    CardTemplate,
    Lead,
    LeadWebhook,
    WebhookDelivery,
)
from tessera.core import sealing
from tessera.core.csrf import form_token_make
from tessera.core.models import OutboxMessage
from tessera.privacy.models import DpaAcceptance
from tests.factories import UserFactory

from .conftest import brand_template, jpeg_bytes, lead_for

PASSWORD = "a-long-test-password"
FORBIDDEN = (403, 404)


@dataclass
class World:
    org: object
    other_org: object
    bob: object  # member of A, owner of the card and lead under attack
    carol: object  # another plain member of A
    olga: object  # owner of B
    card: Card
    other_card: Card
    off_card: Card  # a deactivated card of A
    lead: Lead
    template: CardTemplate
    other_template: CardTemplate
    hook: LeadWebhook
    key: OrganisationApiKey
    other_key: str
    seat: Membership  # bob's membership of A
    invitation_token: str
    markers: list = field(default_factory=list)  # text of A that no outsider may see


def _template(org, name):
    return brand_template(
        org,
        name,
        logo=(jpeg_bytes(size=(200, 100)), "logo.jpg"),
    )


@pytest.fixture
def world(org, admin_user, member, card, other_org, other_admin, other_card, settings) -> World:
    card = services.card_photo_set(card=card, data=jpeg_bytes(), filename="me.jpg")
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    services.cards_settings_update(organisation=other_org, admins_see_leads=True, inactive_action="delete")
    lead = lead_for(card, name="Vera Secretlead", email="vera@example.net")
    invitation = services.invitation_create(
        organisation=org, email="carol@alpha.example", invited_by=admin_user
    )
    carol, off_card = services.invitation_accept(invitation=invitation, password=PASSWORD, full_name="Carol")
    services.card_set_active(card=off_card, active=False)
    services.invitation_create(organisation=org, email="dave@alpha.example", invited_by=admin_user)
    body = sealing.open_text(OutboxMessage.objects.filter(recipient="dave@alpha.example").get().body_text)
    token = re.search(r"/cards/invitation/([^/\s]+)/", body).group(1)
    hook = services.webhook_create(organisation=org, url="https://crm.alpha.example/hook")
    key, _secret = api_key_create(organisation=org, name="crm")
    return World(
        org=org,
        other_org=other_org,
        bob=member,
        carol=carol,
        olga=other_admin,
        card=card,
        other_card=other_card,
        off_card=off_card,
        lead=lead,
        template=_template(org, "Alpha brand"),
        other_template=_template(other_org, "Beta brand"),
        hook=hook,
        key=key,
        other_key=api_key_create(organisation=other_org, name="crm")[1],
        seat=Membership.objects.get(organisation=org, user=member),
        invitation_token=token,
        markers=["Secretlead", card.slug, "crm.alpha.example"],
    )


def state_of(world: World) -> list:
    """Everything of organisation A (and of its member Bob) that an attempt could change."""
    org = world.org
    return [
        list(Card.objects.filter(organisation=org).order_by("pk").values()),
        list(Card.objects.filter(owner=world.bob).order_by("pk").values()),
        list(Lead.objects.filter(organisation=org).order_by("pk").values()),
        list(CardTemplate.objects.filter(organisation=org).order_by("pk").values()),
        list(CardsSettings.objects.filter(organisation=org).values()),
        list(Membership.objects.filter(organisation=org).order_by("pk").values()),
        list(CardInvitation.objects.filter(organisation=org).order_by("pk").values()),
        list(LeadWebhook.objects.filter(organisation=org).order_by("pk").values()),
        list(WebhookDelivery.objects.filter(webhook__organisation=org).order_by("pk").values()),
        list(OrganisationApiKey.objects.filter(organisation=org).order_by("pk").values("pk", "revoked_at")),
        list(DpaAcceptance.objects.filter(organisation=org).values()),
        OutboxMessage.objects.count(),
    ]


@dataclass
class Attempt:
    actor: str  # outsider | peer | anonymous | other_key | no_key
    method: str
    url: str
    data: dict | None = None
    expect: str = "forbidden"  # forbidden | signin | hidden (200 without A's data) | unauthorised | <status>


def _upload(content: bytes, name: str):
    f = io.BytesIO(content)
    f.name = name
    return f


def _space(w: World, method: str, url: str, data=None, *, peer: bool = True, hidden: bool = False):
    """A personal-space URL: the outsider (and a peer) are refused, the signed-out visitor is sent to sign in."""
    expect = "hidden" if hidden else "forbidden"
    attempts = [
        Attempt("outsider", method, url, data, expect),
        Attempt("anonymous", method, url, data, "signin"),
    ]
    if peer:
        attempts.append(Attempt("peer", method, url, data, expect))
    return attempts


def _admin(w: World, method: str, path: str, data=None, *, own_slug_too: bool = True):
    """An organisation-admin URL under A's address; with `own_slug_too`, also under B's address."""
    a = f"/cards/org/{w.org.slug}/{path}"
    attempts = _space(w, method, a, data)
    if own_slug_too:
        attempts.append(Attempt("outsider", method, f"/cards/org/{w.other_org.slug}/{path}", data))
    return attempts


def _api(w: World, method: str, path: str, data=None, *, expect="forbidden"):
    url = f"/api/v1/cards/{path}"
    return [
        Attempt("other_key", method, url, data, expect),
        Attempt("no_key", method, url, data, "unauthorised"),
    ]


PROFILE_POST = {"first_name": "Hacked", "last_name": "X", "visibility_bio": "public"}

ROUTES = {
    # --- personal space
    "cards:home": lambda w: _space(w, "GET", "/cards/", hidden=True),
    "cards:card_new": lambda w: [
        Attempt("outsider", "POST", "/cards/new/", expect="302"),  # a card of their own; A untouched
        Attempt("anonymous", "POST", "/cards/new/", expect="signin"),
    ],
    "cards:card_detail": lambda w: _space(w, "GET", f"/cards/card/{w.card.slug}/"),
    "cards:card_edit": lambda w: [
        *_space(w, "GET", f"/cards/card/{w.card.slug}/edit/"),
        *_space(w, "POST", f"/cards/card/{w.card.slug}/edit/", PROFILE_POST),
        *_space(w, "POST", f"/cards/card/{w.card.slug}/edit/", {"photo": ("me.jpg", jpeg_bytes())}),
    ],
    "cards:card_photo_remove": lambda w: _space(w, "POST", f"/cards/card/{w.card.slug}/photo/remove/"),
    "cards:card_active": lambda w: _space(w, "POST", f"/cards/card/{w.card.slug}/active/", {"active": "0"}),
    "cards:lead_list": lambda w: [
        *_space(w, "GET", "/cards/leads/", hidden=True),
        *_space(w, "GET", "/cards/leads/?q=Secretlead", hidden=True),
    ],
    "cards:lead_export": lambda w: _space(w, "GET", "/cards/leads/export.csv", hidden=True),
    "cards:lead_detail": lambda w: [
        *_space(w, "GET", f"/cards/leads/{w.lead.pk}/"),
        *_space(w, "POST", f"/cards/leads/{w.lead.pk}/", {"status": "closed", "notes": "x", "tags": "x"}),
    ],
    "cards:lead_delete": lambda w: _space(w, "POST", f"/cards/leads/{w.lead.pk}/delete/"),
    "cards:invitation_accept": lambda w: [
        # Signed in with another address: refused, nobody joins.
        Attempt("outsider", "POST", f"/cards/invitation/{w.invitation_token}/", expect="400"),
        Attempt("peer", "POST", f"/cards/invitation/{w.invitation_token}/", expect="400"),
        Attempt("anonymous", "GET", "/cards/invitation/forged-token/", expect="404"),
        Attempt("anonymous", "POST", "/cards/invitation/forged-token/", {"full_name": "X"}),
    ],
    # --- organisation admin
    "cards:org_new": lambda w: [
        Attempt("outsider", "POST", "/cards/org/new/", {"name": w.org.name}, expect="302"),  # another one
        Attempt("anonymous", "POST", "/cards/org/new/", {"name": "X"}, expect="signin"),
    ],
    "cards:org_dashboard": lambda w: _admin(w, "GET", "", own_slug_too=False),
    "cards:org_settings": lambda w: _admin(
        w, "POST", "settings/", {"inactive_action": "anonymise", "hand_back_cards": "on"}, own_slug_too=False
    ),
    "cards:org_dpa": lambda w: [
        *_admin(w, "GET", "settings/dpa/", own_slug_too=False),
        *_admin(
            w,
            "POST",
            "settings/dpa/",
            {"accept": "on", "name": "X", "role": "Y", "version": "1"},
            own_slug_too=False,
        ),
    ],
    "cards:org_invite": lambda w: [
        *_admin(w, "GET", "invite/", own_slug_too=False),
        *_admin(w, "POST", "invite/", {"email": "eve@x.example", "role": "admin"}, own_slug_too=False),
    ],
    "cards:org_import": lambda w: [
        *_admin(w, "GET", "import/", own_slug_too=False),
        *_admin(w, "POST", "import/", {"file": ("p.csv", b"email\neve@x.example\n")}, own_slug_too=False),
    ],
    "cards:org_import_confirm": lambda w: _admin(
        w, "POST", "import/confirm/", {"csv_text": "email\neve@x.example\n"}, own_slug_too=False
    ),
    "cards:org_template_new": lambda w: [
        *_admin(w, "GET", "templates/new/", own_slug_too=False),
        *_admin(w, "POST", "templates/new/", {"name": "Rogue"}, own_slug_too=False),
    ],
    "cards:org_template": lambda w: [
        *_admin(w, "GET", f"templates/{w.template.pk}/"),
        *_admin(
            w,
            "POST",
            f"templates/{w.template.pk}/",
            {
                "name": "Hacked",
                "primary_colour": "#000000",
                "background_colour": "#ffffff",
                "text_colour": "#000000",
                "font": "system",
                "layout": "classic",
                "lock_company": "Rogue",
            },
        ),
    ],
    "cards:org_card": lambda w: [
        *_admin(w, "GET", f"cards/{w.card.slug}/"),
        *_admin(w, "POST", f"cards/{w.card.slug}/", {"template": "", "groups": "x", "active": "0"}),
    ],
    "cards:org_leads": lambda w: _admin(w, "GET", "leads/", own_slug_too=False),
    "cards:org_members": lambda w: _admin(w, "GET", "members/", own_slug_too=False),
    "cards:org_member_role": lambda w: _admin(w, "POST", f"members/{w.seat.pk}/role/", {"role": "admin"}),
    "cards:org_member_remove": lambda w: _admin(w, "POST", f"members/{w.seat.pk}/remove/"),
    "cards:org_transfer": lambda w: [
        *_space(w, "POST", f"/cards/org/{w.org.slug}/transfer/", {"new_owner": w.seat.pk, "confirm": "on"}),
        # Under B's own address with A's member: the form refuses the seat (400), nothing moves.
        Attempt(
            "outsider",
            "POST",
            f"/cards/org/{w.other_org.slug}/transfer/",
            {"new_owner": w.seat.pk, "confirm": "on"},
            expect="400",
        ),
    ],
    "cards:org_leave": lambda w: [
        Attempt("outsider", "POST", f"/cards/org/{w.org.slug}/leave/"),  # not a member: nothing to leave
        Attempt("anonymous", "POST", f"/cards/org/{w.org.slug}/leave/", expect="signin"),
    ],
    "cards:org_integrations": lambda w: [
        *_admin(w, "GET", "integrations/", own_slug_too=False),
        *_admin(w, "POST", "integrations/", {"action": "key_create", "key-name": "x"}, own_slug_too=False),
        # Under B's own address, naming A's key and A's webhook.
        *[
            Attempt("outsider", "POST", f"/cards/org/{w.other_org.slug}/integrations/", data)
            for data in (
                {"action": "key_revoke", "key": w.key.pk},
                {"action": "hook_delete", "hook": w.hook.pk},
                {"action": "hook_pause", "hook": w.hook.pk},
                {"action": "hook_ping", "hook": w.hook.pk},
            )
        ],
    ],
    # --- public pages: anyone may read an active card; nothing of a deactivated one, no template by guess
    "cards_public:card": lambda w: [Attempt("anonymous", "GET", f"/c/{w.off_card.slug}", expect="404")],
    "cards_public:exchange": lambda w: [
        Attempt(
            "anonymous",
            "POST",
            f"/c/{w.off_card.slug}/exchange",
            {"csrfmiddlewaretoken": form_token_make(), "name": "V", "email": "v@x.example", "consent": "on"},
            "404",
        )
    ],
    "cards_public:exchange_challenge": lambda w: [
        Attempt("anonymous", "GET", f"/c/{w.off_card.slug}/exchange/challenge", expect="404")
    ],
    "cards_public:vcard": lambda w: [
        Attempt("anonymous", "GET", f"/c/{w.off_card.slug}/vcard", expect="404")
    ],
    "cards_public:qr": lambda w: [
        Attempt("anonymous", "GET", f"/c/{w.off_card.slug}/qr.{kind}", expect="404")
        for kind in ("svg", "png")
    ],
    "cards_public:ndef": lambda w: [
        Attempt("anonymous", "GET", f"/c/{w.off_card.slug}/card.ndef", expect="404")
    ],
    "cards_public:photo": lambda w: [
        Attempt("anonymous", "GET", f"/c/{w.off_card.slug}/photo-{w.card.photo_version}.jpg", expect="404"),
        Attempt("anonymous", "GET", f"/c/{w.card.slug}/photo-{w.card.photo_version}x.jpg", expect="404"),
    ],
    "cards_public:template_css": lambda w: [
        Attempt("anonymous", "GET", f"/c/t/{w.template.pk}-{w.template.version}.css", expect="404"),
        Attempt("anonymous", "GET", f"/c/t/{uuid.uuid4()}-{w.template.version}.css", expect="404"),
    ],
    "cards_public:template_logo": lambda w: [
        Attempt("anonymous", "GET", f"/c/t/{w.template.pk}-{w.template.version}.png", expect="404"),
        Attempt("anonymous", "GET", f"/c/t/{uuid.uuid4()}-{w.template.version}.png", expect="404"),
    ],
    # --- API, with organisation B's key (and with no key)
    "api GET /leads": lambda w: _api(w, "GET", "leads", expect="hidden"),
    "api GET /webhooks": lambda w: _api(w, "GET", "webhooks", expect="hidden"),
    "api POST /webhooks": lambda w: _api(
        w, "POST", "webhooks", {"url": "https://crm.beta.example/h"}, expect="201"
    ),
    "api DELETE /webhooks/{webhook_id}": lambda w: _api(w, "DELETE", f"webhooks/{w.hook.pk}"),
    "api GET ": lambda w: _api(w, "GET", "", expect="hidden"),
    "api POST ": lambda w: _api(w, "POST", "", {"owner_email": w.bob.email, "first_name": "X"}, expect="422"),
    "api GET /{slug}": lambda w: _api(w, "GET", w.card.slug),
    "api PATCH /{slug}": lambda w: _api(w, "PATCH", w.card.slug, {"first_name": "Hacked", "department": "X"}),
    "api POST /{slug}/deactivate": lambda w: _api(w, "POST", f"{w.card.slug}/deactivate"),
}


def _route_names() -> set[str]:
    names = set()
    for namespace, patterns in (("cards", urls.urlpatterns), ("cards_public", public_urls.urlpatterns)):
        for pattern in patterns:
            assert isinstance(pattern, URLPattern) and pattern.name, pattern
            names.add(f"{namespace}:{pattern.name}")
    for path, view in api.router.path_operations.items():
        for operation in view.operations:
            for method in operation.methods:
                names.add(f"api {method} {path}")
    return names


def test_every_route_is_in_the_table():
    """A new URL or API route fails here until its attempts are written in ROUTES."""
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
    headers = {"HTTP_AUTHORIZATION": f"Bearer {w.other_key}"} if actor == "other_key" else {}
    return headers


def _send(client, attempt: Attempt, headers: dict):
    data = dict(attempt.data or {})
    files = {k: _upload(v[1], v[0]) for k, v in data.items() if isinstance(v, tuple)}
    data.update(files)
    if attempt.url.startswith("/api/"):
        if attempt.method == "GET":
            return client.get(attempt.url, **headers)
        return client.generic(
            attempt.method,
            attempt.url,
            __import__("json").dumps(data),
            content_type="application/json",
            **headers,
        )
    if attempt.method == "GET":
        return client.get(attempt.url, **headers)
    extra = {"HTTP_ORIGIN": "http://testserver"} if attempt.url.startswith("/c/") else {}
    return client.post(attempt.url, data, **headers, **extra)


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", "replace")


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_nobody_else_gets_in(route, world, client):
    attempts = ROUTES[route](world)
    assert attempts, route
    for attempt in attempts:
        before = state_of(world)
        headers = _client_for(attempt.actor, world, client)
        response = _send(client, attempt, headers)
        where = f"{route}: {attempt.actor} {attempt.method} {attempt.url}"
        status = response.status_code
        if attempt.expect == "forbidden":
            assert status in FORBIDDEN, (where, status)
        elif attempt.expect == "signin":  # sent to sign in, or refused by the CSRF check first (a POST)
            assert status == 403 or (status == 302 and "/accounts/login/" in response["Location"]), (
                where,
                status,
            )
        elif attempt.expect == "unauthorised":
            assert status == 401, (where, status)
        elif attempt.expect == "hidden":
            assert status == 200, (where, status)
        else:
            assert status == int(attempt.expect), (where, status)
        if status != 302 or attempt.expect != "signin":
            body = _body(response)
            # What the request itself carried (a slug in the path, a search echoed back) is no leak.
            leaked = [m for m in world.markers if m in body and m not in attempt.url]
            assert leaked == [], (where, leaked)
        assert state_of(world) == before, where


def test_the_public_pages_of_an_active_card_are_public(client, world):
    """The other side of the public rows: what a visitor may see, and only that."""
    for path in ("", "/vcard", "/qr.svg", "/qr.png", "/card.ndef", f"/photo-{world.card.photo_version}.jpg"):
        assert client.get(f"/c/{world.card.slug}{path}").status_code == 200, path
    html = client.get(f"/c/{world.card.slug}").content.decode()
    assert "Secretlead" not in html
    for template in (world.template,):
        services.template_save(organisation=world.org, template=template, is_default=True)
    html = client.get(f"/c/{world.card.slug}").content.decode()
    css = re.search(r'href="(/c/t/[^"]+\.css)"', html).group(1)
    assert client.get(css).status_code == 200
    logo = re.search(r'src="(/c/t/[^"]+\.png)"', html).group(1)
    assert client.get(logo).status_code == 200
    # B's template is not used by A's card: its id appears nowhere in A's page.
    assert str(world.other_template.public_id) not in html


def test_an_invitation_accepted_by_its_address_works(client, world):
    """The contrast to the refused acceptance above: the invited address itself joins."""
    dave = UserFactory(email="dave@alpha.example")
    client.force_login(dave)
    assert client.post(reverse("cards:invitation_accept", args=[world.invitation_token])).status_code == 302
    assert Membership.objects.filter(organisation=world.org, user=dave, role="member").exists()

import io
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from PIL import Image

from tessera.accounts.services import api_key_create
from tessera.cards import services
from tessera.core import pow
from tests.factories import OrganisationFactory, UserFactory

PASSWORD = "a-long-test-password"


def jpeg_bytes(size=(800, 600), colour=(200, 30, 30), exif: bool = False, fmt: str = "JPEG") -> bytes:
    image = Image.new("RGB", size, colour)
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x8825] = {2: (48.0, 51.0, 30.0)}  # GPS latitude
        image.save(out, format=fmt, exif=data)
    else:
        image.save(out, format=fmt)
    return out.getvalue()


def solved_challenge(card) -> tuple[str, str]:
    challenge = pow.challenge_issue(scope=f"card:{card.slug}")
    return challenge, pow.solve(challenge)


@pytest.fixture(autouse=True)
def _fast_pow(settings):
    settings.TESSERA_CARDS_POW_BITS = 8


@pytest.fixture(autouse=True)
def _no_pending_views():
    # The root conftest empties the cache; the card-view counts waiting to be written are the cards' own.
    from tessera.cards import analytics

    analytics._pending.clear()


@pytest.fixture
def admin_user(db):
    return UserFactory(email="admin@alpha.example", full_name="Alice Admin", password=PASSWORD)


@pytest.fixture
def org(admin_user):
    return OrganisationFactory(owner=admin_user, name="Alpha")


@pytest.fixture
def member(org, admin_user):
    invitation = services.invitation_create(
        organisation=org, email="bob@alpha.example", invited_by=admin_user
    )
    user, _card = services.invitation_accept(invitation=invitation, password=PASSWORD, full_name="Bob")
    return user


@pytest.fixture
def card(member, org):
    card = member.cards.get(organisation=org)
    return services.card_update(
        card=card,
        changes={
            "first_name": "Bob",
            "last_name": "Builder",
            "job_title": "Engineer",
            "phones": [{"kind": "mobile", "number": "+33 6 12 34 56 78", "public": True}],
            "emails": [{"kind": "work", "address": "bob@alpha.example", "public": True}],
            "website": "https://alpha.example",
        },
    )


@pytest.fixture
def other_admin(db):
    return UserFactory(email="admin@beta.example", full_name="Olga Other", password=PASSWORD)


@pytest.fixture
def other_org(other_admin):
    return OrganisationFactory(owner=other_admin, name="Beta")


@pytest.fixture
def other_card(other_admin, other_org):
    return other_admin.cards.get(organisation=other_org)


@pytest.fixture
def api_key(org):
    return api_key_create(organisation=org, name="crm")[1]


@pytest.fixture
def other_api_key(other_org):
    return api_key_create(organisation=other_org, name="crm")[1]


def lead_for(card, email="visitor@example.net", name="Vera Visitor", **extra):
    challenge, nonce = solved_challenge(card)
    return services.lead_capture(
        card=card,
        data={"name": name, "email": email, "consent": True, **extra},
        challenge=challenge,
        nonce=nonce,
    )


def brand_template(org, name="HQ", **values):
    """A card template in the test brand's colours; `values` adds or overrides any field."""
    fields = {
        "primary_colour": "#0b5394",
        "background_colour": "#ffffff",
        "text_colour": "#111111",
        "font": "system",
        "layout": "classic",
    }
    return services.template_save(organisation=org, name=name, **(fields | values))


@pytest.fixture(autouse=True)
def _english_messages(english):
    """Assertions read English messages; pages under /en/ and Accept-Language still choose per request."""


@pytest.fixture
def client(client):
    """Personal-space pages in English, where these tests read their messages (French is the default)."""
    original = client.generic

    def generic(method, path, *args, **kwargs):
        if path.startswith("/cards/"):
            path = "/en" + path
        if path.startswith("/c/"):
            kwargs.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
        return original(method, path, *args, **kwargs)

    client.generic = generic
    return client


class _Receiver(BaseHTTPRequestHandler):
    received: list = []
    fail_first = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail_first > 0:
            _Receiver.fail_first -= 1
            self.send_response(503)
        else:
            _Receiver.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    _Receiver.fail_first = 1
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()

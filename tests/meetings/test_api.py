"""The meetings API, driven over HTTP with organisation API keys."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tessera.accounts.models import Organisation, User
from tessera.accounts.services import api_key_create
from tessera.meetings.models import Event, Invitation
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

from .conftest import LINK, MANAGE, form_post, key_of, outbox

pytestmark = pytest.mark.django_db


def person(email: str, *, verified: bool = True, organisation: Organisation | None = None) -> User:
    """An account holding `email` (verified through allauth or not), member of `organisation` if given."""
    user = UserFactory(email=email, unverified=not verified)
    if organisation is not None:
        MembershipFactory(organisation=organisation, user=user)
    return user


@pytest.fixture
def acme(db):
    return OrganisationFactory(name="Acme")


@pytest.fixture
def acme_key(acme):
    """Acme's key; boss@acme.example, the organiser of `payload()`, is a verified member of Acme."""
    person("boss@acme.example", organisation=acme)
    return api_key_create(organisation=acme, name="tool")[1]


@pytest.fixture
def other_key(db):
    organisation = OrganisationFactory(name="Other")
    return api_key_create(organisation=organisation, name="tool")[1]


def call(client, method, path, key, body=None):
    return getattr(client, method)(
        f"/api/v1/meetings{path}",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def payload(**overrides):
    starts = (timezone.now() + timedelta(days=5)).replace(microsecond=0, second=0, tzinfo=None)
    body = {
        "title": "Quarterly review",
        "description": "Numbers",
        "starts_at": starts.isoformat(),
        "time_zone": "Europe/Paris",
        "duration_minutes": 45,
        "organiser_email": "boss@acme.example",
        "invitees": ["x@example.com", "Y@example.com", "x@example.com"],
        "language": "en",
    }
    body.update(overrides)
    return body


def test_create_read_update_cancel_with_links_that_carry_the_key(client, acme_key):
    created = call(client, "post", "/events", acme_key, payload(key_in_links=True))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "scheduled" and len(body["room_secret"]) == 43 and body["key_in_links"]
    assert all(body["room_secret"] in m.body_text for m in outbox("invitation"))
    assert [i["email"] for i in body["invitations"]] == ["x@example.com", "y@example.com"]
    assert "/en/m/manage/" in body["manage_url"]
    assert sorted(m.recipient for m in outbox("invitation")) == ["x@example.com", "y@example.com"]
    assert [m.recipient for m in outbox("manage_link")] == ["boss@acme.example"]

    read = call(client, "get", f"/events/{body['id']}", acme_key).json()
    assert read["title"] == "Quarterly review" and "room_secret" not in read
    assert [e["id"] for e in call(client, "get", "/events", acme_key).json()] == [body["id"]]

    refused = call(client, "patch", f"/events/{body['id']}", acme_key, {"title": "Renamed"})
    assert refused.status_code == 400 and "room_secret" in refused.json()["detail"]
    updated = call(
        client,
        "patch",
        f"/events/{body['id']}",
        acme_key,
        {
            "title": "Renamed",
            "room_secret": body["room_secret"],
            "invitees_add": ["z@example.com"],
            "invitees_remove": ["x@example.com"],
        },
    )
    assert updated.status_code == 200, updated.content
    # The update is sequence 1; the removal raises it once more, for the removed person's CANCEL.
    assert updated.json()["sequence"] == 2 and updated.json()["title"] == "Renamed"
    assert {i["email"]: i["revoked"] for i in updated.json()["invitations"]} == {
        "x@example.com": True,
        "y@example.com": False,
        "z@example.com": False,
    }
    assert [m.recipient for m in outbox("invitation_update")] == ["x@example.com", "y@example.com"]
    assert [m.recipient for m in outbox("removed")] == ["x@example.com"]

    cancelled = call(client, "post", f"/events/{body['id']}/cancel", acme_key)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert sorted(m.recipient for m in outbox("cancellation")) == ["y@example.com", "z@example.com"]
    late = call(client, "patch", f"/events/{body['id']}", acme_key, {"reminder_enabled": False})
    assert late.status_code == 409


def test_by_default_the_api_never_receives_nor_returns_the_key_and_needs_none(client, acme_key):
    created = call(client, "post", "/events", acme_key, payload())
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["room_secret"] is None and body["key_in_links"] is False
    assert body["manage_url"].split("#", 1)[1].count(".") == 0  # the management token only
    event = Event.objects.get()
    assert event.room_secret_check == "" and event.key_in_links is False
    changed = call(
        client,
        "patch",
        f"/events/{body['id']}",
        acme_key,
        {"title": "Renamed", "invitees_add": ["z@example.com"]},
    )
    assert changed.status_code == 200, changed.content
    assert [m.recipient for m in outbox("invitation_update")] == ["x@example.com", "y@example.com"]
    assert [m.recipient for m in outbox("invitation") if m.recipient == "z@example.com"] == ["z@example.com"]
    for message in outbox():
        for url in MANAGE.findall(message.body_text) + LINK.findall(message.body_text):
            assert "." not in key_of(url), url  # a token, no key
    # A key sent anyway is refused and nothing is kept: the server must not receive it.
    secret = "A" * 43
    refused = call(client, "patch", f"/events/{body['id']}", acme_key, {"room_secret": secret, "title": "X"})
    assert refused.status_code == 422 and "room_secret" in refused.json()["errors"]
    assert Event.objects.get().title == "Renamed"
    refused = call(client, "post", "/events", acme_key, payload(room_secret=secret))
    assert refused.status_code == 422 and "key_in_links" in refused.json()["detail"]
    assert Event.objects.count() == 1


def test_links_that_carry_the_key_use_the_clients_key_and_refuse_a_wrong_one(client, acme_key):
    secret = "k" * 43
    created = call(client, "post", "/events", acme_key, payload(key_in_links=True, room_secret=secret))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["room_secret"] == secret and key_of(body["manage_url"]).endswith("." + secret)
    assert all(key_of(LINK.search(m.body_text).group(1)).endswith("." + secret) for m in outbox("invitation"))
    wrong = call(client, "patch", f"/events/{body['id']}", acme_key, {"room_secret": "j" * 43, "title": "X"})
    assert wrong.status_code == 400 and "room_secret" in wrong.json()["detail"]
    malformed = call(client, "post", "/events", acme_key, payload(key_in_links=True, room_secret="short"))
    assert malformed.status_code == 422
    assert Event.objects.count() == 1 and Event.objects.get().title == "Quarterly review"


def test_an_organisation_cannot_see_or_touch_another_ones_events(client, acme_key, other_key):
    event_id = call(client, "post", "/events", acme_key, payload()).json()["id"]
    assert call(client, "get", f"/events/{event_id}", other_key).status_code == 404
    assert call(client, "get", "/events", other_key).json() == []
    assert call(client, "patch", f"/events/{event_id}", other_key, {"title": "x"}).status_code == 404
    assert call(client, "post", f"/events/{event_id}/cancel", other_key).status_code == 404
    assert Event.objects.get().status == Event.Status.SCHEDULED


def test_no_key_or_a_bad_key_is_refused(client):
    assert client.get("/api/v1/meetings/events").status_code == 401
    assert call(client, "get", "/events", "tsk_nope_nope").status_code == 401


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"invitees": ["ok@example.com", "not-an-address"]}, "invitees"),
        ({"starts_at": "2001-01-01T10:00:00"}, "starts_at"),
        ({"time_zone": "Nowhere/City"}, "time_zone"),
        # Names of the zone database that are not zones (directories, index files) made a 500.
        ({"time_zone": "America"}, "time_zone"),
        ({"time_zone": "Etc"}, "time_zone"),
        ({"organiser_email": "nobody"}, "organiser_email"),
        ({"invitees": [f"p{i}@example.com" for i in range(201)]}, "invitees"),
    ],
)
def test_bad_input_gets_a_400_naming_the_field(client, acme_key, overrides, field):
    response = call(client, "post", "/events", acme_key, payload(**overrides))
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "x" * 201}, "body.title"),
        ({"title": "   "}, "body.title"),
        ({"description": "x" * 5001}, "body.description"),
        ({"duration_minutes": 2}, "body.duration_minutes"),
        ({"title": None}, "body.title"),
        ({"language": "de"}, "body.language"),
    ],
)
def test_schema_violations_get_a_422_naming_the_field(client, acme_key, overrides, field):
    response = call(client, "post", "/events", acme_key, payload(**overrides))
    assert response.status_code == 422
    assert response.json()["detail"] and field in response.json()["errors"]
    assert Event.objects.count() == 0


def test_the_openapi_schema_lists_the_meetings_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/meetings/events", "/api/v1/meetings/events/{event_id}"} <= set(paths)


def test_invitees_may_carry_their_own_language(client, acme_key):
    body = payload(
        language="fr",
        invitees=["x@example.com", {"email": "Y@example.com", "language": "en"}],
    )
    created = call(client, "post", "/events", acme_key, body)
    assert created.status_code == 201, created.content
    assert [(i["email"], i["language"]) for i in created.json()["invitations"]] == [
        ("x@example.com", "fr"),
        ("y@example.com", "en"),
    ]
    assert outbox("invitation", to="y@example.com")[0].subject.startswith("Invitation:")
    assert outbox("invitation", to="x@example.com")[0].subject.startswith("Invitation :")
    event_id = created.json()["id"]
    changed = call(
        client,
        "patch",
        f"/events/{event_id}",
        acme_key,
        {"invitees_add": [{"email": "z@example.com", "language": "en"}]},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["invitations"][-1] == {**changed.json()["invitations"][-1], "language": "en"}
    refused = call(
        client, "post", "/events", acme_key, payload(invitees=[{"email": "q@example.com", "language": "de"}])
    )
    assert refused.status_code == 422 and refused.json()["errors"]
    assert Event.objects.count() == 1


@pytest.mark.parametrize(
    "organiser",
    [
        lambda acme: "ceo@victim-bank.test",  # nobody's account
        lambda acme: person("unproven@acme.example", verified=False, organisation=acme).email,
        lambda acme: person("outsider@example.org").email,  # verified, but not a member of Acme
        lambda acme: person("member@other.example", organisation=OrganisationFactory(name="O")).email,
    ],
    ids=["stranger", "member-unverified-address", "verified-non-member", "member-of-another-organisation"],
)
def test_a_key_cannot_send_invitations_in_the_name_of_an_unproven_organiser(
    client, acme, acme_key, organiser
):
    email = organiser(acme)
    created = call(client, "post", "/events", acme_key, payload(organiser_email=email))
    assert created.status_code == 201, created.content
    body = created.json()
    # The key's holder gets neither a sent invitation nor the link that would confirm in the organiser's name.
    assert body["status"] == "unverified" and body["manage_url"] is None
    assert outbox("invitation") == [] and outbox("manage_link") == []
    (confirmation,) = outbox("verify")
    assert confirmation.recipient == email
    # Details changed and invitees added before the confirmation reach nobody either.
    changed = call(
        client,
        "patch",
        f"/events/{body['id']}",
        acme_key,
        {"title": "Urgent", "invitees_add": ["z@example.com"]},
    )
    assert changed.status_code == 200, changed.content
    assert outbox("invitation") == [] and outbox("invitation_update") == []
    # Once the organiser opens the link sent to them, the invitations leave, as for anonymous organisers.
    url = MANAGE.search(confirmation.body_text).group(1)
    form_post(client, f"/en/m/manage/{body['id']}", {"key": key_of(url), "action": "verify"})
    assert sorted(m.recipient for m in outbox("invitation")) == [
        "x@example.com",
        "y@example.com",
        "z@example.com",
    ]
    assert Event.objects.get().status == Event.Status.SCHEDULED


def test_the_address_of_a_verified_member_sends_at_once_whatever_its_case(client, acme, acme_key):
    person("second@acme.example", organisation=acme)
    created = call(client, "post", "/events", acme_key, payload(organiser_email="Second@ACME.example"))
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "scheduled" and "/m/manage/" in created.json()["manage_url"]
    assert sorted(m.recipient for m in outbox("invitation")) == ["x@example.com", "y@example.com"]
    assert Event.objects.get().created_by.email == "second@acme.example"


def test_invitations_are_capped_per_organisation_and_day(client, settings, acme_key, other_key):
    settings.TESSERA_MEETINGS = {"org_invitations_per_day": 3}
    first = call(client, "post", "/events", acme_key, payload(invitees=["a@example.com", "b@example.com"]))
    assert first.status_code == 201, first.content
    over = call(client, "post", "/events", acme_key, payload(invitees=["c@example.com", "d@example.com"]))
    assert over.status_code == 429
    assert over.json()["detail"] and "invitees" in over.json()["errors"]
    # The client is told when the oldest invitation of the rolling day stops counting.
    assert 86_000 < int(over["Retry-After"]) <= 86_400
    assert Event.objects.count() == 1 and Invitation.objects.count() == 2
    event_id = first.json()["id"]
    # Added through an update, past the cap: the whole update is refused, nothing kept or sent.
    patch = {"title": "Renamed", "invitees_add": ["c@example.com", "d@example.com"]}
    refused = call(client, "patch", f"/events/{event_id}", acme_key, patch)
    assert refused.status_code == 429
    assert Invitation.objects.count() == 2 and Event.objects.get().title == "Quarterly review"
    assert outbox("invitation_update") == []
    assert (
        call(
            client, "patch", f"/events/{event_id}", acme_key, {**patch, "invitees_add": ["c@example.com"]}
        ).status_code
        == 200
    )
    # Another organisation has its own count; Acme gets its invitations back a day later.
    other = call(client, "post", "/events", other_key, payload(organiser_email="boss@other.example"))
    assert other.status_code == 201, other.content
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        again = call(client, "post", "/events", acme_key, payload(invitees=["e@example.com"]))
        assert again.status_code == 201, again.content


def test_the_daily_cap_also_holds_on_the_web_form_of_a_member(client, settings, acme, acme_key):
    from .conftest import create_form

    settings.TESSERA_MEETINGS = {"org_invitations_per_day": 3}
    assert call(client, "post", "/events", acme_key, payload()).status_code == 201  # two invitees
    member = User.objects.get(email="boss@acme.example")
    client.force_login(member)
    starts = timezone.now() + timedelta(days=3)
    refused = form_post(client, "/en/m/new/", create_form(starts, organiser_email="boss@acme.example"))
    assert refused.status_code == 400 and "limit of 3 invitations per day" in refused.content.decode()
    assert Event.objects.count() == 1 and Invitation.objects.count() == 2


def test_a_throttled_key_is_told_when_to_come_back(client, settings, acme_key):
    settings.TESSERA_MEETINGS = {"api_per_organisation": (1, 60)}
    assert call(client, "post", "/events", acme_key, payload()).status_code == 201
    refused = call(client, "post", "/events", acme_key, payload(title="Again"))
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many requests.", "errors": {}}
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Event.objects.count() == 1

"""The creation form, driven over HTTP the way a browser posts it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tessera.accounts.models import Membership, Organisation, User
from tessera.meetings.conf import meetings_setting
from tessera.meetings.forms import MARKETING_CONSENT_TEXT
from tessera.meetings.models import Event, Invitation
from tessera.privacy.models import ConsentRecord
from tessera.privacy.services import text_hash

from .conftest import create_form, form_post, outbox

pytestmark = pytest.mark.django_db


def test_anonymous_creation_sends_only_the_confirmation_email(client, starts_at):
    response = form_post(client, "/en/m/new/", create_form(starts_at))
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    event = Event.objects.get()
    assert event.status == Event.Status.UNVERIFIED
    assert event.invitations.count() == 3
    assert [m.recipient for m in outbox()] == ["organiser@example.org"]
    assert outbox("verify")[0].body_text.count("/m/manage/") == 1


def test_malformed_addresses_are_listed_back_with_their_position_and_nothing_is_created(client, starts_at):
    data = create_form(starts_at, invitees="good@example.com; bad-one, other@example.com\nnope@")
    response = form_post(client, "/en/m/new/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Address 2 is not valid: bad-one" in html
    assert "Address 4 is not valid: nope@" in html
    assert Event.objects.count() == 0 and Invitation.objects.count() == 0 and outbox() == []


def test_a_date_in_the_past_is_refused(client):
    yesterday = timezone.now() - timedelta(days=1)
    response = form_post(client, "/en/m/new/", create_form(yesterday))
    assert response.status_code == 400
    assert "This date is in the past" in response.content.decode()
    assert Event.objects.count() == 0


def test_more_than_200_invitees_are_refused(client, starts_at):
    many = "\n".join(f"person{i}@example.com" for i in range(201))
    response = form_post(client, "/en/m/new/", create_form(starts_at, invitees=many))
    assert response.status_code == 400
    assert "At most 200 invitees; this list has 201." in response.content.decode()
    assert Event.objects.count() == 0


def test_exactly_200_invitees_with_repeats_are_accepted(client, starts_at):
    many = "\n".join(f"person{i}@example.com" for i in range(200)) + "\nPERSON0@example.com"
    response = form_post(client, "/en/m/new/", create_form(starts_at, invitees=many))
    assert response.status_code == 200
    assert Event.objects.get().invitations.count() == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "x" * 201),
        ("description", "x" * 5001),
        ("organiser_email", "a" * 250 + "@example.org"),
        ("invitees", "a@example.com," * 6000),
    ],
)
def test_oversized_fields_are_refused(client, starts_at, field, value):
    response = form_post(client, "/en/m/new/", create_form(starts_at, **{field: value}))
    assert response.status_code == 400
    assert Event.objects.count() == 0


@pytest.mark.parametrize("missing", ["title", "date", "time", "organiser_email", "invitees", "age_confirmed"])
def test_required_fields(client, starts_at, missing):
    response = form_post(client, "/en/m/new/", create_form(starts_at, **{missing: None}))
    assert response.status_code == 400
    assert Event.objects.count() == 0


def test_unknown_time_zone_and_duration_are_refused(client, starts_at):
    response = form_post(
        client, "/en/m/new/", create_form(starts_at, time_zone="Mars/Olympus", duration_minutes="7")
    )
    assert response.status_code == 400
    assert Event.objects.count() == 0


def test_marketing_opt_in_is_off_by_default_and_recorded_with_the_text_version(client, starts_at):
    html = client.get("/en/m/new/").content.decode()
    assert (
        'name="marketing_opt_in"' in html and "checked" not in html.split('name="marketing_opt_in"')[1][:40]
    )
    form_post(client, "/en/m/new/", create_form(starts_at))
    assert not ConsentRecord.objects.exists()
    form_post(client, "/en/m/new/", create_form(starts_at, marketing_opt_in="on"))
    (consent,) = ConsentRecord.objects.all()
    assert consent.email == "organiser@example.org" and consent.purpose == "marketing"
    assert consent.text_version == meetings_setting("marketing_consent_version")
    assert consent.text_hash == text_hash(str(MARKETING_CONSENT_TEXT))


def test_script_in_title_and_description_is_escaped_on_every_page_and_email(client, starts_at, settings):
    script = "<script>alert(1)</script>"
    form_post(client, "/en/m/new/", create_form(starts_at, title=script, description=script))
    event = Event.objects.get()
    assert event.title == script
    for message in outbox():
        assert script not in message.body_html and "&lt;script&gt;" in message.body_html


def test_creation_is_rate_limited_by_address_and_by_ip(client, starts_at, settings):
    settings.TESSERA_MEETINGS = {"create_per_organiser": (2, 3600), "create_per_ip": (4, 3600)}
    for _ in range(2):
        assert form_post(client, "/en/m/new/", create_form(starts_at)).status_code == 200
    refused = form_post(client, "/en/m/new/", create_form(starts_at))
    assert refused.status_code == 429 and refused["Retry-After"]
    other = create_form(starts_at, organiser_email="someone-else@example.org")
    assert form_post(client, "/en/m/new/", other).status_code == 200
    assert form_post(client, "/en/m/new/", other).status_code == 429  # fifth from this address: the IP limit
    assert Event.objects.count() == 3


def test_a_post_without_form_token_or_from_another_origin_is_refused(client, starts_at):
    assert (
        client.post("/en/m/new/", create_form(starts_at), HTTP_ORIGIN="http://testserver").status_code == 403
    )
    response = form_post(client, "/en/m/new/", create_form(starts_at), HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert Event.objects.count() == 0


def test_a_signed_in_member_of_an_organisation_skips_the_confirmation(client, starts_at):
    user = User.objects.create_user("member@example.org", "a-long-password-1")
    organisation = Organisation.objects.create(name="Acme", slug="acme")
    Membership.objects.create(organisation=organisation, user=user)
    client.force_login(user)
    response = form_post(client, "/en/m/new/", create_form(starts_at, organiser_email="member@example.org"))
    assert response.status_code == 200
    assert "/m/manage/" in response.content.decode()
    event = Event.objects.get()
    assert event.status == Event.Status.SCHEDULED and event.organisation == organisation
    assert sorted(m.recipient for m in outbox("invitation")) == [
        "ana@example.com",
        "ben@example.com",
        "chloe@example.net",
    ]
    assert [m.recipient for m in outbox("manage_link")] == ["member@example.org"]


def test_meeting_pages_set_no_cookie_and_hold_no_inline_script(client, starts_at):
    for path in ["/m/new/", "/en/m/new/", "/m/someroom", "/m/manage/someid"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert not response.cookies, path
        html = response.content.decode()
        assert "<script>" not in html and "<style" not in html and " style=" not in html, path
    response = form_post(client, "/en/m/new/", create_form(starts_at))
    assert not response.cookies


def test_a_language_tag_in_the_list_overrides_the_events_language_for_that_person(client, starts_at):
    data = create_form(starts_at, language="fr", invitees="ana@example.com [en]\nben@example.com")
    assert form_post(client, "/en/m/new/", data).status_code == 200
    assert dict(Invitation.objects.values_list("email", "language")) == {
        "ana@example.com": "en",
        "ben@example.com": "",
    }
    bad = form_post(client, "/en/m/new/", create_form(starts_at, invitees="zoe@example.com [xx]"))
    assert bad.status_code == 400 and "Address 1 is not valid: zoe@example.com [xx]" in bad.content.decode()
    assert Event.objects.count() == 1

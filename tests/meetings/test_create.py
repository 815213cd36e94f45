"""The creation form, driven over HTTP the way a browser posts it."""

import json
import re
from datetime import timedelta
from html import unescape

import icalendar
import pytest
import time_machine
from django.utils import timezone, translation

from tessera.core.csrf import form_token_make
from tessera.meetings import services
from tessera.meetings.conf import meetings_setting
from tessera.meetings.links import invite_token, room_secret_make
from tessera.meetings.models import Event, Invitation
from tessera.meetings.texts import MARKETING_CONSENT_TEXT
from tessera.privacy.models import ConsentRecord, ProcessingLimit
from tessera.privacy.services import limit_active, limit_add, text_hash
from tests.factories import MembershipFactory, UserFactory

from .conftest import MANAGE, create_form, form_post, ics_of, key_of, outbox

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


def _marketing_label(html: str) -> str:
    """The text of the opt-in's label, as the person reads it."""
    label = re.search(
        r'<label><input type="checkbox" name="marketing_opt_in"[^>]*> (.*?)</label>', html, re.S
    )
    return " ".join(unescape(label.group(1)).split())


def _confirm(client, message):
    url = MANAGE.search(message.body_text).group(1)
    public_id = url.split("/m/manage/", 1)[1].split("#", 1)[0]
    return form_post(client, f"/en/m/manage/{public_id}", {"key": key_of(url), "action": "verify"})


def test_marketing_opt_in_is_off_by_default_and_recorded_once_the_address_is_confirmed(client, starts_at):
    html = client.get("/en/m/new/").content.decode()
    assert (
        'name="marketing_opt_in"' in html and "checked" not in html.split('name="marketing_opt_in"')[1][:40]
    )
    form_post(client, "/en/m/new/", create_form(starts_at))
    assert not ConsentRecord.objects.exists()
    form_post(client, "/en/m/new/", create_form(starts_at, marketing_opt_in="on"))
    # Nobody has proven the address is theirs yet: no consent in the ledger, only the pending wish.
    assert not ConsentRecord.objects.exists()
    pending = Event.objects.get(marketing_opt_in_language="en")
    assert pending.marketing_opt_in_version == meetings_setting("marketing_consent_version")
    (verification,) = [m for m in outbox("verify") if pending.public_id in m.body_text]
    assert _confirm(client, verification).status_code == 200
    (consent,) = ConsentRecord.objects.all()
    assert consent.email == "organiser@example.org" and consent.purpose == "marketing"
    assert consent.text_version == meetings_setting("marketing_consent_version")
    with translation.override("en"):
        assert consent.text_hash == text_hash(str(MARKETING_CONSENT_TEXT))
    pending.refresh_from_db()
    assert pending.marketing_opt_in_language == "" and pending.marketing_opt_in_version == ""
    assert _confirm(client, verification).status_code == 200  # confirming again records nothing more
    assert ConsentRecord.objects.count() == 1


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_stored_consent_text_is_the_label_that_was_shown(client, starts_at, language):
    html = client.get(f"/{language}/m/new/".replace("/fr/", "/")).content.decode()
    shown = _marketing_label(html)
    with translation.override(language):
        assert shown == " ".join(str(MARKETING_CONSENT_TEXT).split())
    path = "/m/new/" if language == "fr" else "/en/m/new/"
    form_post(client, path, create_form(starts_at, marketing_opt_in="on", language="fr"))
    _confirm(client, outbox("verify")[0])
    (consent,) = ConsentRecord.objects.all()
    assert consent.text_hash == text_hash(shown)
    assert " ".join(consent.shown_text.text.split()) == shown  # French has no-break spaces
    assert consent.shown_text.language == language


def test_an_earlier_marketing_objection_survives_an_unconfirmed_creation(client, starts_at):
    limit_add(email="organiser@example.org", kind=ProcessingLimit.Kind.OBJECTION_MARKETING)
    form_post(client, "/en/m/new/", create_form(starts_at, marketing_opt_in="on"))
    assert limit_active(email="organiser@example.org", kinds=[ProcessingLimit.Kind.OBJECTION_MARKETING])
    assert not ConsentRecord.objects.exists()
    # Cancelled before confirmation: the wish is dropped and can no longer be confirmed.
    event = Event.objects.get()
    services.event_cancel(event=event)
    event.refresh_from_db()
    assert event.marketing_opt_in_language == ""
    assert limit_active(email="organiser@example.org", kinds=[ProcessingLimit.Kind.OBJECTION_MARKETING])


def test_a_members_opt_in_is_recorded_at_once(client, starts_at):
    user = MembershipFactory(organisation__name="Acme", user__email="member@example.org").user
    client.force_login(user)
    data = create_form(starts_at, organiser_email="member@example.org", marketing_opt_in="on")
    assert form_post(client, "/en/m/new/", data).status_code == 200
    (consent,) = ConsentRecord.objects.all()
    assert consent.email == "member@example.org" and consent.user == user
    assert Event.objects.get().marketing_opt_in_language == ""


def test_the_16_or_older_confirmation_is_stored_with_its_time(client, starts_at):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        assert form_post(client, "/en/m/new/", create_form(starts_at)).status_code == 200
    assert Event.objects.get().age_confirmed_at == moment
    refused = form_post(client, "/en/m/new/", create_form(starts_at, age_confirmed=None))
    assert refused.status_code == 400 and "16 or older" in refused.content.decode()
    assert Event.objects.count() == 1


def test_script_in_title_and_description_is_escaped_on_every_page_and_email(client, starts_at):
    script = "<script>alert(1)</script>; a, b"
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    user = MembershipFactory(organisation__name="Acme", user__email="member@example.org").user
    client.force_login(user)
    data = create_form(starts_at, title=script, description=script, organiser_email="member@example.org")
    created = form_post(client, "/en/m/new/", data)
    event = Event.objects.get()
    assert event.title == script
    pages = {"created": created.content.decode()}
    client.logout()
    manage_url = MANAGE.search(outbox("manage_link")[0].body_text).group(1)
    pages["management"] = form_post(
        client, f"/en/m/manage/{event.public_id}", {"key": key_of(manage_url)}
    ).content.decode()
    pages["waiting"] = client.get(f"/en/m/{event.room_id}").content.decode()
    for name, html in pages.items():
        assert "<script>alert" not in html, name
    assert pages["created"].count(escaped) == 1
    assert pages["management"].count(escaped) >= 2  # the heading and the description
    # The waiting page gets the title as JSON data and writes it with textContent (see the browser test).
    invitation = event.invitations.first()
    status = client.post(
        f"/m/{event.room_id}/status",
        data=json.dumps({"token": invite_token(invitation.public_id)}),
        content_type="application/json",
        HTTP_ORIGIN="http://testserver",
        HTTP_X_CSRFTOKEN=form_token_make(),
    )
    assert status["Content-Type"] == "application/json" and status.json()["title"] == script
    assert outbox()
    for message in outbox():
        assert "<script>" not in message.body_html and escaped in message.body_html
    # In the calendar file the text stays text, with RFC 5545 escaping of ";" and ",".
    raw = ics_of(outbox("invitation")[0]).decode()
    assert "SUMMARY:<script>alert(1)</script>\\; a\\, b\r\n" in raw
    assert str(icalendar.Calendar.from_ical(raw).walk("VEVENT")[0]["SUMMARY"]) == script


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
    user = UserFactory(email="member@example.org")
    organisation = MembershipFactory(organisation__name="Acme", user=user).organisation
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


def test_a_quoted_name_with_a_comma_is_one_invitee_and_bad_entries_keep_their_positions(client, starts_at):
    data = create_form(
        starts_at, invitees='"Doe, Jane" <jane@example.org>, bad; "Roe, Rick" <rick@example.org>'
    )
    response = form_post(client, "/en/m/new/", data)
    assert response.status_code == 400
    assert "Address 2 is not valid: bad" in response.content.decode()
    assert Event.objects.count() == 0
    data = create_form(starts_at, invitees='"Doe, Jane" <jane@example.org>; "Roe, Rick" <rick@example.org>')
    assert form_post(client, "/en/m/new/", data).status_code == 200
    assert sorted(Invitation.objects.values_list("email", flat=True)) == [
        "jane@example.org",
        "rick@example.org",
    ]


def test_by_default_the_form_creates_links_without_the_key_and_the_server_has_none(client, starts_at):
    page = client.get("/en/m/new/").content.decode()
    box = page.split('name="key_in_links"', 1)[1][:60]
    assert "checked" not in box and "Links carry the meeting key" in page
    assert '<input type="hidden" name="room_secret" value="" data-room-secret>' in page
    response = form_post(client, "/en/m/new/", create_form(starts_at))
    html = response.content.decode()
    event = Event.objects.get()
    assert not event.key_in_links and event.room_secret_check == ""
    # The page binds the key this browser made to the room, until a day after the meeting.
    assert f'data-room-id="{event.room_id}"' in html and 'data-testid="key-panel"' in html
    assert (event.ends_at + timedelta(days=1)).isoformat() in html
    (verification,) = outbox("verify")
    assert "." not in key_of(MANAGE.search(verification.body_text).group(1))


def test_a_key_posted_without_links_that_carry_it_is_refused_and_nothing_is_created(client, starts_at):
    response = form_post(client, "/en/m/new/", create_form(starts_at, room_secret=room_secret_make()))
    assert response.status_code == 400
    assert "The meeting key is only sent to us when the links carry it." in response.content.decode()
    assert Event.objects.count() == 0 and outbox() == []


def test_links_that_carry_the_key_use_the_key_the_browser_made(client, starts_at):
    secret = room_secret_make()
    response = form_post(client, "/en/m/new/", create_form(starts_at, key_in_links="on", room_secret=secret))
    assert response.status_code == 200 and secret not in response.content.decode()
    event = Event.objects.get()
    assert event.key_in_links and event.room_secret_check
    (verification,) = outbox("verify")
    assert key_of(MANAGE.search(verification.body_text).group(1)).endswith("." + secret)
    _confirm(client, verification)
    assert all(secret in m.body_text for m in outbox("invitation"))
    assert len(outbox("invitation")) == 3


def test_links_that_carry_the_key_without_a_script_get_a_key_drawn_by_the_server(client, starts_at):
    bad = form_post(client, "/en/m/new/", create_form(starts_at, key_in_links="on", room_secret="x" * 10))
    assert bad.status_code == 400 and Event.objects.count() == 0
    assert form_post(client, "/en/m/new/", create_form(starts_at, key_in_links="on")).status_code == 200
    (verification,) = outbox("verify")
    key = key_of(MANAGE.search(verification.body_text).group(1))
    assert len(key.split(".")[1]) == 43 and Event.objects.get().room_secret_check


def test_creating_an_event_records_which_terms_version_was_accepted(client, starts_at):
    from tessera.privacy.models import TermsAcceptance, TermsVersion

    version = TermsVersion.objects.order_by("-number").first() or TermsVersion.objects.create(
        number=1, substantial=False, published_at=timezone.now()
    )
    page = client.get("/en/m/new/").content.decode()
    assert "By creating the event you accept the" in page and 'href="/en/terms/"' in page
    response = form_post(client, "/en/m/new/", create_form(starts_at))
    assert response.status_code == 200
    event = Event.objects.get()
    accepted = TermsAcceptance.objects.get(context="event_creation")
    assert (accepted.email, accepted.version_id) == (event.organiser_email, version.pk)
    # A refused form records nothing.
    form_post(client, "/en/m/new/", {**create_form(starts_at), "invitees": "not-an-address"})
    assert TermsAcceptance.objects.filter(context="event_creation").count() == 1

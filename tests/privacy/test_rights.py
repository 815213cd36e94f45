import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tessera.core import sealing
from tessera.core.audit import security_event_record
from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.core.outbox import email_queue
from tessera.privacy import services
from tessera.privacy.models import (
    ConsentRecord,
    PostMortemDirective,
    ProcessingLimit,
    RightsLink,
    RightsRequest,
)
from tests.factories import UserFactory

from .conftest import form_token, link_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def anonymous():
    """A browser without any cookie, with CSRF checks on, the way real visitors arrive."""
    return Client(enforce_csrf_checks=True, HTTP_SEC_FETCH_SITE="same-origin")


def ask(client, email, path="/en/privacy/rights/"):
    page = client.get(path)
    assert not page.cookies
    return client.post(path, {"email": email, "csrfmiddlewaretoken": form_token(page.content.decode())})


def emails_to(address, kind):
    return OutboxMessage.objects.filter(recipient=address, kind=kind).order_by("created_at")


def open_portal(client, user_email):
    ask(client, user_email)
    link = link_from(sealing.open_text(emails_to(user_email, "privacy_rights_link").last().body_text))
    path = link.split("testserver", 1)[1]
    confirm = client.get(path)
    assert confirm.status_code == 200 and not confirm.cookies
    portal = client.post(path, {"csrfmiddlewaretoken": form_token(confirm.content.decode())})
    assert portal.status_code == 200 and not portal.cookies
    html = portal.content.decode()
    token = html.split('name="portal" value="', 1)[1].split('"', 1)[0]
    return path, token, html


def act(client, action, token, html, **data):
    return client.post(
        f"/en/privacy/rights/act/{action}/",
        {"portal": token, "csrfmiddlewaretoken": form_token(html), **data},
    )


def test_known_and_unknown_addresses_get_the_same_answer(anonymous, user):
    known = ask(anonymous, user.email)
    unknown = ask(anonymous, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.content.decode().replace(user.email, "X") == unknown.content.decode().replace(
        "nobody@example.org", "X"
    ).replace(
        form_token(unknown.content.decode()) if "csrfmiddlewaretoken" in unknown.content.decode() else "", ""
    )
    assert emails_to(user.email, "privacy_rights_link").count() == 1
    assert emails_to("nobody@example.org", "privacy_rights_link").count() == 0
    no_data = emails_to("nobody@example.org", "privacy_no_data").get()
    assert "no personal data" in no_data.body_text
    assert RightsLink.objects.filter(email="nobody@example.org").count() == 0


def test_asking_again_after_a_no_data_answer_still_says_no_data(anonymous):
    ask(anonymous, "nobody@example.org")
    ask(anonymous, "nobody@example.org")
    assert emails_to("nobody@example.org", "privacy_no_data").count() == 2


def test_the_request_form_is_rate_limited(anonymous, settings):
    settings.TESSERA_RATE_LIMITS = {"privacy_rights": (2, 3600)}
    for _ in range(2):
        assert ask(anonymous, "a@example.org").status_code == 200
    limited = ask(anonymous, "a@example.org")
    assert limited.status_code == 429 and limited["Retry-After"]


def test_one_address_receives_at_most_three_links_an_hour_and_the_answer_stays_the_same(anonymous, user):
    # The limit counts per clock hour: four asks that straddled an hour's end would be two windows.
    middle_of_the_hour = timezone.now().replace(minute=30, second=0, microsecond=0)
    with time_machine.travel(middle_of_the_hour, tick=False):
        answers = [ask(anonymous, address) for address in [user.email] * 3 + [user.email.upper()]]
    assert [a.status_code for a in answers] == [200] * 4
    assert all("We sent an email to" in a.content.decode() for a in answers)
    assert emails_to(user.email, "privacy_rights_link").count() == 3


def test_a_post_without_form_token_is_refused(anonymous):
    response = anonymous.post("/en/privacy/rights/", {"email": "a@example.org"})
    assert response.status_code == 403
    assert not OutboxMessage.objects.exists()


def test_the_link_works_once(anonymous, user):
    path, _token, _html = open_portal(anonymous, user.email)
    again = anonymous.get(path)
    assert again.status_code == 410 and b"already used" in again.content


def test_an_expired_link_is_refused_clearly(anonymous, user):
    ask(anonymous, user.email)
    mail = emails_to(user.email, "privacy_rights_link").get()
    path = link_from(sealing.open_text(mail.body_text)).split("testserver", 1)[1]
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        response = anonymous.get(path)
    assert response.status_code == 410 and b"expired" in response.content


def test_a_forged_link_is_refused_clearly(anonymous, user):
    response = anonymous.get("/en/privacy/rights/link/not-a-real-token/")
    assert response.status_code == 400 and b"not valid" in response.content


def test_the_portal_page_expires_after_an_hour(anonymous, user):
    _path, token, html = open_portal(anonymous, user.email)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        response = act(anonymous, "withdraw", token, html)
    assert response.status_code == 410


def test_access_export_covers_every_app_and_is_machine_readable(anonymous, user):
    security_event_record(action="auth.login", actor=user, ip="198.51.100.7", user_agent="Firefox")
    email_queue(to=user.email, subject="Welcome aboard", body_text="hello", kind="welcome")
    services.consent_record(
        email=user.email, purpose="marketing", text="news", text_version="1", method="checkbox"
    )
    email_queue(to="someone-else@example.org", subject="Not yours", body_text="x", kind="welcome")
    _path, token, html = open_portal(anonymous, user.email)
    response = act(anonymous, "export", token, html)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert not response.cookies
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert {"data.json", "schema.json", "summary.html"} <= names
    data = json.loads(archive.read("data.json"))
    assert data["schema"] == json.loads(archive.read("schema.json"))["$id"]
    sections = {s["category"]: s for s in data["sections"]}
    assert sections["account"]["rows"][0]["email"] == user.email
    assert sections["account"]["rows"][0]["full_name"] == "Ada L"
    assert any(r["ip"] == "198.51.100.7" for r in sections["security_log"]["rows"])
    subjects = [r["subject"] for r in sections["emails_sent_to_you"]["rows"]]
    assert "Welcome aboard" in subjects and "Not yours" not in subjects
    assert sections["consents"]["rows"][0]["text_version"] == "1"
    assert all(s["purpose"] and s["legal_basis"] for s in data["sections"])
    account_csv = list(csv.DictReader(io.StringIO(archive.read("csv/account.csv").decode())))
    assert account_csv[0]["email"] == user.email
    assert "Welcome aboard" in archive.read("summary.html").decode()
    assert RightsRequest.objects.get(kind="access").status == "answered"


def test_erasure_deletes_what_has_no_legal_retention_and_lists_what_was_kept(anonymous, user):
    security_event_record(action="auth.login", actor=user, ip="198.51.100.7")
    email_queue(to=user.email, subject="Old news", body_text="x", kind="welcome")
    services.consent_record(
        email=user.email, purpose="marketing", text="news", text_version="1", method="checkbox"
    )
    services.directive_set(email=user.email, instruction="erase")
    _path, token, html = open_portal(anonymous, user.email)
    response = act(anonymous, "erase", token, html)
    assert response.status_code == 200
    page = response.content.decode()
    assert "core.security_log" in page and "12 months" in page
    assert not get_user_model().objects.filter(email=user.email).exists()
    assert not OutboxMessage.objects.filter(recipient=user.email, kind="welcome").exists()
    assert not PostMortemDirective.objects.exists()
    assert ConsentRecord.objects.get().email == ""
    assert SecurityEvent.objects.filter(email=user.email, action="auth.login").exists()  # kept 12 months
    record = RightsRequest.objects.get(kind="erasure")
    assert record.status == "answered" and record.outcome["existed"]["account"] == 1
    done = emails_to(user.email, "privacy_erasure_done").get()
    assert "12 months" in done.body_text


def test_asking_twice_for_erasure_is_harmless(user):
    first = services.rights_erase(email=user.email, channel="portal")
    second = services.rights_erase(email=user.email, channel="portal")
    assert first.status == second.status == "answered"
    assert all(o["erased"] == 0 for o in second.outcome["outcomes"] if o["activity"] == "accounts.account")


def test_restriction_holds_every_email_until_lifted(anonymous, user):
    _path, token, html = open_portal(anonymous, user.email)
    response = act(anonymous, "restrict", token, html)
    assert b"restricted" in response.content
    held = email_queue(to=user.email, subject="Invitation", body_text="x", kind="invitation")
    assert held.status == OutboxMessage.Status.HELD
    act(anonymous, "lift_restriction", token, response.content.decode())
    held.refresh_from_db()
    assert held.status == OutboxMessage.Status.PENDING
    assert email_queue(to=user.email, subject="Again", body_text="x", kind="invitation").status == "pending"


def test_objection_to_marketing_stops_it_and_to_legitimate_interest_goes_to_the_dpo(anonymous, user):
    services.consent_record(
        email=user.email, purpose="marketing", text="news", text_version="1", method="checkbox"
    )
    _path, token, html = open_portal(anonymous, user.email)
    act(anonymous, "object", token, html, scope="marketing")
    assert not services.consent_active(email=user.email, purpose="marketing")
    assert services.limit_active(email=user.email, kinds=[ProcessingLimit.Kind.OBJECTION_MARKETING])
    act(anonymous, "object", token, html, scope="interest", reason="I am a journalist")
    queued = RightsRequest.objects.get(kind="objection", status="received")
    assert queued.details == "I am a journalist" and queued.due_at > timezone.now() + timedelta(days=29)


def test_withdrawal_of_every_consent(anonymous, user):
    services.consent_record(
        email=user.email, purpose="marketing", text="n", text_version="1", method="checkbox"
    )
    services.consent_record(email=user.email, purpose="lead_form", text="l", text_version="1", method="form")
    _path, token, html = open_portal(anonymous, user.email)
    act(anonymous, "withdraw", token, html)
    assert not ConsentRecord.objects.filter(withdrawn_at__isnull=True).exists()


def test_post_mortem_directives_can_be_given_changed_and_revoked(anonymous, user):
    _path, token, html = open_portal(anonymous, user.email)
    incomplete = act(anonymous, "directive", token, html, instruction="communicate")
    assert incomplete.status_code == 400
    act(
        anonymous,
        "directive",
        token,
        html,
        instruction="communicate",
        trusted_person_name="Grace H",
        trusted_person_email="grace@example.org",
    )
    directive = PostMortemDirective.objects.get(revoked_at__isnull=True)
    assert directive.trusted_person_name == "Grace H"
    act(anonymous, "directive", token, html, instruction="erase")
    assert PostMortemDirective.objects.get(revoked_at__isnull=True).instruction == "erase"
    act(anonymous, "revoke_directive", token, html)
    assert not PostMortemDirective.objects.filter(revoked_at__isnull=True).exists()


def test_rectification_edits_the_name_and_sends_the_rest_to_the_dpo(anonymous, user):
    _path, token, html = open_portal(anonymous, user.email)
    act(anonymous, "rectify", token, html, full_name="Ada Lovelace", details="")
    user.refresh_from_db()
    assert user.full_name == "Ada Lovelace"
    act(anonymous, "rectify", token, html, full_name="Ada Lovelace", details="My organisation role is wrong")
    assert RightsRequest.objects.filter(kind="rectification", status="received").count() == 1


def test_every_portal_action_is_in_the_security_log(anonymous, user):
    _path, token, html = open_portal(anonymous, user.email)
    act(anonymous, "restrict", token, html)
    actions = set(SecurityEvent.objects.values_list("action", flat=True))
    assert {
        "privacy.link_requested",
        "privacy.link_used",
        "privacy.request_received",
        "privacy.restriction_added",
    } <= actions


def reauthenticate(client, password="correct horse battery"):
    response = client.post("/en/accounts/reauthenticate/", {"password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def test_signed_in_people_find_the_same_rights_in_their_account(client, user):
    client.force_login(user)
    reauthenticate(client)
    page = client.get("/en/privacy/account/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Download my data" in html and "Erase my data" in html and 'name="portal"' not in html
    export = client.post("/en/privacy/account/act/export/")
    assert export["Content-Type"] == "application/zip"
    client.post("/en/privacy/account/act/restrict/")
    assert services.limit_active(email=user.email, kinds=[ProcessingLimit.Kind.RESTRICTION])


def test_the_account_rights_page_needs_sign_in(client):
    assert client.get("/en/privacy/account/").status_code == 302


def _account_with(email, *, verified_extra):
    """An account whose sign-in address is `email`, with the extra addresses it added (verified or not)."""
    from allauth.account.models import EmailAddress

    account = UserFactory(email=email, password="a-long-test-password", full_name=email)
    for extra, verified in verified_extra.items():
        EmailAddress.objects.create(user=account, email=extra, verified=verified, primary=False)
    return account


def test_an_unverified_address_on_an_account_gives_its_mailbox_no_rights_over_the_account(anonymous):
    # Ada added an old address by mistake and never confirmed it; Mallory holds that mailbox now.
    ada = _account_with("ada@example.org", verified_extra={"old-ada@example.org": False})
    ask(anonymous, "old-ada@example.org")
    assert not emails_to("old-ada@example.org", "privacy_rights_link").exists()  # "no data held"
    assert emails_to("old-ada@example.org", "privacy_no_data").exists()
    assert services.subject_resolve("old-ada@example.org").user_ids == []
    record = services.rights_erase(email="old-ada@example.org", channel=RightsRequest.Channel.PORTAL)
    assert record.outcome["existed"].get("account", 0) == 0
    assert get_user_model().objects.filter(pk=ada.pk).exists()
    export = services.subject_export(services.subject_resolve("old-ada@example.org"))
    assert not any(s.rows for s in export if s.category in ("account", "email_addresses"))


def test_attaching_someone_elses_address_unverified_does_not_sweep_an_account_into_their_request(anonymous):
    victim = _account_with("victim@example.org", verified_extra={})
    squatter = _account_with("squatter@example.org", verified_extra={"victim@example.org": False})
    # A sign-up never confirmed sets the sign-in address too: it proves nothing either.
    pending = UserFactory(email="victim+x@example.org", unverified=True)
    _account_with("other@example.org", verified_extra={})
    assert services.subject_resolve("victim@example.org").user_ids == [victim.pk]
    assert services.subject_resolve("victim+x@example.org").user_ids == []
    _path, token, html = open_portal(anonymous, "victim@example.org")
    archive = zipfile.ZipFile(io.BytesIO(act(anonymous, "export", token, html).content))
    accounts = next(
        s for s in json.loads(archive.read("data.json"))["sections"] if s["category"] == "account"
    )
    assert [row["email"] for row in accounts["rows"]] == ["victim@example.org"]
    services.rights_erase(email="victim@example.org", channel=RightsRequest.Channel.PORTAL)
    assert not get_user_model().objects.filter(pk=victim.pk).exists()
    assert get_user_model().objects.filter(pk__in=[squatter.pk, pending.pk]).count() == 2


def test_erasing_or_exporting_the_account_needs_a_recent_sign_in(client, user):
    client.force_login(user)  # a session that is not fresh: borrowed, stolen or left open
    for action in ("erase", "export"):
        response = client.post(f"/en/privacy/account/act/{action}/")
        assert response.status_code == 302
        assert response["Location"].startswith("/en/accounts/reauthenticate/"), response["Location"]
        assert "Content-Disposition" not in response
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert not RightsRequest.objects.exists()
    # A wrong password does not count.
    assert client.post("/en/accounts/reauthenticate/", {"password": "wrong"}).status_code == 200
    assert client.post("/en/privacy/account/act/erase/")["Location"].startswith(
        "/en/accounts/reauthenticate/"
    )
    # Other rights need no new sign-in.
    client.post("/en/privacy/account/act/restrict/")
    assert services.limit_active(email=user.email, kinds=[ProcessingLimit.Kind.RESTRICTION])

    reauthenticate(client)
    export = client.post("/en/privacy/account/act/export/")
    assert export.status_code == 200 and export["Content-Type"] == "application/zip"
    erased = client.post("/en/privacy/account/act/erase/")
    assert erased.status_code == 200
    assert not get_user_model().objects.filter(pk=user.pk).exists()

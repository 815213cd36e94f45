"""Data processing agreement (GDPR Art. 28): versions, acceptance by an organisation's administrator only, the
page with its annexes read from the register, the organisation's settings, change emails, proof and rights."""

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.template import TemplateDoesNotExist
from django.utils import timezone

from tessera.accounts.models import Membership
from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.privacy.dpa import (
    DpaError,
    DpaNotAdmin,
    dpa_accept,
    dpa_acceptance_latest,
    dpa_change_notify,
    dpa_current,
    dpa_publish,
)
from tessera.privacy.dpa.annexes import processor_activities
from tessera.privacy.models import DpaAcceptance, DpaVersion
from tessera.privacy.register import Activity, LegalBasis, Retention, Subject, registry
from tessera.privacy.security_measures import PLATFORM_MEASURES
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 12, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
def owner(db):
    return UserFactory(email="olivia@alpha.example", full_name="Olivia Owner", language="en")


@pytest.fixture
def org(owner):
    return OrganisationFactory(owner=owner, name="Alpha SAS")


@pytest.fixture
def admin(org):
    return MembershipFactory(
        organisation=org,
        user=UserFactory(email="adam@alpha.example", language="fr"),
        role=Membership.Role.ADMIN,
    ).user


@pytest.fixture
def member(org):
    return MembershipFactory(organisation=org, user=UserFactory(email="mia@alpha.example")).user


@pytest.fixture
def version_two(settings, tmp_path):
    """A second version's text, in a template directory of the test's own."""
    (tmp_path / "site" / "dpa").mkdir(parents=True)
    (tmp_path / "site" / "dpa" / "2.html").write_text(
        "<section><h2>Version two</h2><p>New clauses.</p></section>"
    )
    templates = [dict(engine) for engine in settings.TEMPLATES]
    templates[0]["DIRS"] = [tmp_path, *templates[0].get("DIRS", [])]
    settings.TEMPLATES = templates
    return tmp_path


def accept(org, user, **kwargs):
    return dpa_accept(organisation=org, user=user, name="Olivia Owner", role="CEO", **kwargs)


# --- versions ------------------------------------------------------------------------------------------


def test_version_one_is_published_by_the_migration():
    version = dpa_current()
    assert version.number == 1 and not version.substantial


def test_version_one_comes_back_in_a_database_emptied_since_the_migration(org, owner):
    DpaVersion.objects.all().delete()  # a flushed test database, or a restored partial dump
    assert dpa_current().number == 1
    assert accept(org, owner).version.number == 1
    assert DpaVersion.objects.count() == 1


def test_a_new_version_needs_its_text_and_must_come_after_the_current_one(version_two):
    with pytest.raises(TemplateDoesNotExist):
        dpa_publish(number=3, substantial=False)
    assert dpa_publish(number=2, substantial=False).number == dpa_current().number == 2
    with pytest.raises(DpaError):
        dpa_publish(number=2, substantial=False)
    assert DpaVersion.objects.count() == 2


# --- acceptance ----------------------------------------------------------------------------------------


def test_the_owner_or_an_admin_accepts_and_the_latest_acceptance_says_what_when_and_who(org, owner, admin):
    assert dpa_acceptance_latest(organisation=org) is None
    accept(org, owner, now=MOMENT)
    later = dpa_accept(
        organisation=org, user=admin, name="  Adam   Admin ", role=" DPO ", now=MOMENT + timedelta(1)
    )
    latest = dpa_acceptance_latest(organisation=org)
    assert latest == later
    assert (latest.version.number, latest.accepted_at) == (1, MOMENT + timedelta(1))
    assert (latest.accepted_by, latest.accepted_by_email) == (admin, "adam@alpha.example")
    assert (latest.accepted_name, latest.accepted_role, latest.organisation_name) == (
        "Adam Admin",
        "DPO",
        "Alpha SAS",
    )
    event = SecurityEvent.objects.filter(action="privacy.dpa_accepted").order_by("seq").last()
    assert event.actor_id == admin.pk and event.data == {"organisation": org.pk, "version": 1}


def test_a_plain_member_a_stranger_and_an_admin_of_another_organisation_are_refused(org, member):
    other_owner = UserFactory()
    OrganisationFactory(owner=other_owner)
    for user in (member, UserFactory(), other_owner):
        with pytest.raises(DpaNotAdmin):
            accept(org, user)
    assert not DpaAcceptance.objects.exists()
    assert not SecurityEvent.objects.filter(action="privacy.dpa_accepted").exists()


def test_bad_input_is_refused_and_stores_nothing(org, owner):
    for bad in (
        {"name": "", "role": "CEO"},
        {"name": "O", "role": "   "},
        {"name": "x" * 201, "role": "CEO"},
    ):
        with pytest.raises(DpaError):
            dpa_accept(organisation=org, user=owner, **bad)
    with pytest.raises(DpaError):
        accept(org, owner, version=7)
    assert not DpaAcceptance.objects.exists()


def test_the_latest_acceptance_is_the_highest_version_whatever_the_order(org, owner, version_two):
    dpa_publish(number=2, substantial=False)
    accept(org, owner, version=2, now=MOMENT)
    accept(org, owner, version=1, now=MOMENT + timedelta(1))
    assert dpa_acceptance_latest(organisation=org).version.number == 2


# --- the page and its annexes --------------------------------------------------------------------------


def annex(html: str, number: int) -> str:
    return (
        html.split(f'<section id="annex-{number}"', 1)[1]
        .split('<section id="annex-', 1)[0]
        .split("</article>")[0]
    )


def test_the_page_is_the_agreement_in_french_and_english_small_cookie_free_and_printable(client):
    for url, lang in (("/dpa/", "fr"), ("/en/dpa/", "en")):
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200 and f'lang="{lang}"' in html, url
        assert len(response.content) < 100_000, url
        assert not response.cookies and "Set-Cookie" not in response, url
        assert "default-src 'self'" in response["Content-Security-Policy"], url
        assert not re.findall(r"<script(?![^>]*\bsrc=\"/static/)", html), url
        assert "<style" not in html and " style=" not in html, url
        assert not re.findall(r'(?:href|src)="(?!/|#|mailto:)', html), url
        assert "/static/tessera/css/dpa.css" in html, url
    assert "@media print" in (client.get("/static/tessera/css/dpa.css").getvalue().decode())
    html = client.get("/en/dpa/").content.decode()
    assert "<h1>Data processing agreement</h1>" in html
    assert 'data-testid="dpa-version">Version 1, in force since' in html
    for clause in (
        "Parties and subject matter",
        "Duration",
        "only on the customer's documented instructions",
        "committed to confidentiality",
        "GDPR Art. 32",
        "prior general written authorisation",
        "at least 30 days before",
        "requests from data subjects",
        "Art. 32 to 36",
        "without undue delay",
        "we return the personal data and delete it",
        "audits, including inspections",
    ):
        assert clause in html.replace("&#x27;", "'"), clause


def test_annex_1_lists_exactly_the_register_activities_done_for_the_customer(client):
    names = [a.name for a in processor_activities()]
    assert {"cards.profile", "directory.sync", "signatures.rendering"} <= set(names)
    assert "cards.leads" not in names and "privacy.dpa_acceptance" not in names
    html = client.get("/en/dpa/").content.decode()
    processing = annex(html, 1)
    assert re.findall(r'data-activity="([^"]+)"', processing) == names
    profile = registry.activities["cards.profile"]
    for text in (
        profile.purpose,
        profile.retention.description,
        *profile.data_categories,
        *profile.data_subjects,
    ):
        assert str(text).replace("'", "&#x27;") in processing, text


def test_annex_2_lists_the_sub_processors_of_those_activities_and_annex_3_the_measures(client):
    html = client.get("/en/dpa/").content.decode()
    used = {key for a in processor_activities() for key in a.sub_processors}
    assert set(re.findall(r'data-subprocessor="([^"]+)"', annex(html, 2))) == used
    security = annex(html, 3)
    for heading, measures in PLATFORM_MEASURES.items():
        assert str(heading) in security
        assert all(str(m).replace("'", "&#x27;") in security for m in measures)
    for measure in registry.activities["directory.sync"].security_measures:
        assert str(measure).replace("'", "&#x27;") in security


def test_the_annexes_change_when_the_register_changes(client, settings, monkeypatch):
    settings.TESSERA_SUB_PROCESSORS = {
        **settings.TESSERA_SUB_PROCESSORS,
        "sms": {
            "name": "Texto Example SA",
            "service": "Sending of text messages",
            "country": "Belgium",
            "dpa_url": "",
            "personal_data": True,
        },
    }
    new = Activity(
        name="cards.sms_reminders",
        title="Text-message reminders to members",
        purpose="Remind members by text message to update their card.",
        legal_basis=LegalBasis.CONTRACT,
        processor_for="an organisation, for the cards of its members",
        data_subjects=("Members of customer organisations",),
        data_categories=("Mobile phone number",),
        fields={"cards.Card": ["phones"]},
        recipients=("The member",),
        retention=Retention(description="Deleted after 14 days."),
        security_measures=("Numbers masked in every log",),
        sub_processors=("hosting", "sms"),
        app_label="cards",
    )
    monkeypatch.setitem(registry.activities, new.name, new)
    # An activity that stops being done for the customer leaves Annex 1.
    sync = registry.activities["directory.sync"]
    monkeypatch.setitem(registry.activities, sync.name, replace(sync, processor_for=""))
    html = client.get("/en/dpa/").content.decode()
    names = re.findall(r'data-activity="([^"]+)"', annex(html, 1))
    assert "cards.sms_reminders" in names and "directory.sync" not in names
    assert "Deleted after 14 days." in annex(html, 1) and "Mobile phone number" in annex(html, 1)
    assert 'data-subprocessor="sms"' in annex(html, 2) and "Texto Example SA" in annex(html, 2)
    assert "Numbers masked in every log" in annex(html, 3)


def test_the_page_shows_a_newly_published_version(client, version_two):
    dpa_publish(number=2, substantial=False)
    html = client.get("/en/dpa/").content.decode()
    assert "Version 2, in force since" in html and "<h2>Version two</h2>" in html
    assert 'id="annex-1"' in html


# --- the organisation's settings -----------------------------------------------------------------------


def dashboard(client, org) -> str:
    response = client.get(f"/en/cards/org/{org.slug}/")
    assert response.status_code == 200
    return response.content.decode().split('id="dpa"', 1)[1].split("</section>", 1)[0]


def form_data(**overrides):
    return {"accept": "on", "name": "Olivia Owner", "role": "CEO", "version": "1", **overrides}


def test_the_settings_show_the_form_then_who_accepted_which_version_and_when(client, org, owner):
    client.force_login(owner)
    section = dashboard(client, org)
    assert "The agreement has not been accepted yet." in section
    assert "I accept the data processing agreement on behalf of Alpha SAS" in section
    assert 'href="/en/dpa/"' in section
    with time_machine.travel(MOMENT, tick=False):
        response = client.post(f"/en/cards/org/{org.slug}/settings/dpa/", form_data())
    assert response.status_code == 302
    [row] = DpaAcceptance.objects.all()
    assert (row.organisation, row.accepted_by, row.version.number) == (org, owner, 1)
    section = dashboard(client, org)
    assert "Version 1 accepted on Dec. 10, 2026 by Olivia Owner (CEO, olivia@alpha.example)." in section
    assert "nothing to do" in section and "<form" not in section


@pytest.mark.parametrize(
    "data, error",
    [
        (form_data(accept=""), "Tick the box to accept the agreement on behalf of the organisation."),
        (form_data(name=""), "Give your full name."),
        (form_data(role="  "), "Give your role in the organisation."),
        (form_data(name="x" * 201), "at most 200 characters"),
        (form_data(version="0"), ""),
        (form_data(version="2"), "A newer version of the agreement was published"),
    ],
)
def test_bad_input_on_the_settings_page_gets_a_clear_error_and_stores_nothing(
    client, org, owner, data, error
):
    client.force_login(owner)
    if not data["accept"]:
        del data["accept"]
    response = client.post(f"/en/cards/org/{org.slug}/settings/dpa/", data)
    assert response.status_code == 400
    assert error in response.content.decode().replace("&#x27;", "'")
    assert not DpaAcceptance.objects.exists()


def test_a_plain_member_and_an_outsider_get_no_form_and_cannot_accept(client, org, member):
    for user in (member, UserFactory()):
        client.force_login(user)
        assert client.get(f"/en/cards/org/{org.slug}/settings/dpa/").status_code == 404
        assert client.post(f"/en/cards/org/{org.slug}/settings/dpa/", form_data()).status_code == 404
    assert not DpaAcceptance.objects.exists()


def test_a_newer_version_shows_as_needing_acceptance_until_accepted(client, org, owner, version_two):
    accept(org, owner, now=MOMENT)
    dpa_publish(number=2, substantial=False)
    client.force_login(owner)
    section = dashboard(client, org)
    assert "Version 1 accepted on" in section
    assert "Version 2 of the agreement was published and needs your acceptance." in section
    assert 'name="version" value="2"' in section
    # A form still showing version 1 (opened before the publication) accepts nothing.
    stale = client.post(f"/en/cards/org/{org.slug}/settings/dpa/", form_data(version="1"))
    assert stale.status_code == 400 and 'name="version" value="2"' in stale.content.decode()
    assert 'value="Olivia Owner"' in stale.content.decode()
    assert not DpaAcceptance.objects.filter(version__number=2).exists()
    assert client.post(f"/en/cards/org/{org.slug}/settings/dpa/", form_data(version="2")).status_code == 302
    assert dpa_acceptance_latest(organisation=org).version.number == 2
    assert "nothing to do" in dashboard(client, org)


# --- change emails -------------------------------------------------------------------------------------


def test_a_substantial_change_emails_each_admin_seat_once_in_their_language(
    org, owner, admin, member, version_two, django_capture_on_commit_callbacks
):
    other = OrganisationFactory(owner=admin, name="Beta SARL")  # adam also owns another organisation
    gone = MembershipFactory(organisation=org, user=UserFactory(is_active=False), role=Membership.Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        version = dpa_publish(number=2, substantial=True)
    emails = list(OutboxMessage.objects.filter(kind="privacy_dpa_changed"))
    assert sorted(m.recipient for m in emails) == sorted([owner.email, admin.email, admin.email])
    assert member.email not in {m.recipient for m in emails} and gone.user.email not in {
        m.recipient for m in emails
    }
    english = next(m for m in emails if m.recipient == owner.email)
    assert english.headers["Content-Language"] == "en"
    assert "version 2" in english.body_text and "Alpha SAS" in english.body_text
    assert "/en/dpa/" in english.body_text and f"/en/cards/org/{org.slug}/#dpa" in english.body_text
    french = [m for m in emails if m.recipient == admin.email]
    assert {m.headers["Content-Language"] for m in french} == {"fr"}
    assert any(other.name in m.subject for m in french)
    version.refresh_from_db()
    assert version.notified_at is not None
    assert dpa_change_notify(version_id=version.pk) == 0  # a rerun after a crash emails nobody twice
    assert OutboxMessage.objects.filter(kind="privacy_dpa_changed").count() == 3


def test_a_minor_change_emails_nobody(org, owner, version_two, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dpa_publish(number=2, substantial=False)
    assert not OutboxMessage.objects.filter(kind="privacy_dpa_changed").exists()


# --- register, retention, rights -----------------------------------------------------------------------


def test_the_register_declares_the_acceptances_and_keeps_them_five_years_after_the_organisation(org, owner):
    activity = registry.activities["privacy.dpa_acceptance"]
    assert activity.retention.period == timedelta(days=5 * 365)
    start = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        kept = accept(org, owner)
        other = OrganisationFactory(owner=UserFactory())
        orphan = accept(other, other.memberships.get().user)
    assert activity.retention.apply(now=start + timedelta(days=10 * 365)) == 0  # both still customers
    other.delete()  # the organisation leaves: the proof stays, and its 5 years start
    with time_machine.travel(start + timedelta(days=3000), tick=False):
        assert activity.retention.apply(now=timezone.now()) == 1  # marks the end of the relationship
        orphan.refresh_from_db()
        assert orphan.organisation is None and orphan.organisation_name == other.name
    with time_machine.travel(start + timedelta(days=3000 + 5 * 365 - 1), tick=False):
        assert activity.retention.apply(now=timezone.now()) == 0
    with time_machine.travel(start + timedelta(days=3000 + 5 * 365 + 1), tick=False):
        assert activity.retention.apply(now=timezone.now()) == 1
    assert list(DpaAcceptance.objects.values_list("pk", flat=True)) == [kept.pk]


def test_the_accepting_admin_finds_their_acceptances_in_their_export_and_erasure_keeps_them(org, owner):
    accept(org, owner, now=MOMENT)
    module = registry.modules["privacy"]
    subject = Subject(email=owner.email, user_ids=[owner.pk])
    [section] = [s for s in module.export_subject(subject) if s.category == "dpa_acceptances"]
    assert section.rows == [
        {
            "organisation": "Alpha SAS",
            "version": 1,
            "email": "olivia@alpha.example",
            "name": "Olivia Owner",
            "role": "CEO",
            "accepted": MOMENT.isoformat(),
        }
    ]
    [outcome] = [o for o in module.erase_subject(subject) if o.activity == "privacy.dpa_acceptance"]
    assert outcome.kept == 1 and "Art. 28(9)" in str(outcome.reason_kept)
    owner.delete()
    row = DpaAcceptance.objects.get()
    assert row.accepted_by is None and row.accepted_by_email == "olivia@alpha.example"


def test_a_new_sub_processor_for_the_customer_is_a_new_version_of_the_agreement():
    """Clause 6 promises the customer notice before a new sub-processor. When this fails, publish a substantial
    version (`dpa_publish`), which emails every admin, and update the set below to the new Annex 2."""
    assert {key for a in processor_activities() for key in a.sub_processors} == {"hosting", "email"}

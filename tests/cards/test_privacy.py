import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from tessera.accounts import services as accounts_services
from tessera.accounts.models import User
from tessera.cards import privacy, services
from tessera.cards.models import Card, Lead
from tessera.core.models import OutboxMessage
from tessera.privacy.models import ConsentRecord
from tessera.privacy.register import Subject
from tests.factories import UserFactory

from .conftest import lead_for

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.get_fixed_timezone(0))
DAY = timedelta(days=1)


def _retention(name):
    return next(a for a in privacy.activities if a.name == name).retention.apply


@pytest.mark.parametrize(
    ("offset", "kept"), [(privacy.LEAD_RETENTION - DAY, True), (privacy.LEAD_RETENTION + DAY, False)]
)
def test_leads_are_deleted_three_years_after_the_last_contact(card, offset, kept):
    with time_machine.travel(T0, tick=False):
        lead = lead_for(card)
    _retention("cards.leads")(now=T0 + offset)
    assert Lead.objects.filter(pk=lead.pk).exists() is kept


def test_a_new_contact_moves_the_lead_deadline(card):
    with time_machine.travel(T0, tick=False):
        lead = lead_for(card)
    with time_machine.travel(T0 + timedelta(days=400), tick=False):
        services.lead_update(lead=lead, status="contacted")
    _retention("cards.leads")(now=T0 + privacy.LEAD_RETENTION + DAY)
    assert Lead.objects.filter(pk=lead.pk).exists()


@pytest.fixture
def idle_individual(db):
    with time_machine.travel(T0, tick=False):
        user = UserFactory(email="idle@solo.example", full_name="Ida Idle", password="a-long-test-password")
        services.card_create(owner=user, first_name="Ida")
    return user


def _warnings():
    return OutboxMessage.objects.filter(kind="accounts_inactivity_warning")


def _inactivity(*, now):
    """The inactivity rule lives with accounts; card views and the company's choice come from cards."""
    from tessera.privacy.register import registry

    return registry.activities["accounts.account"].retention.apply(now=now)


def test_inactive_account_is_warned_at_23_months_then_deleted_at_24(idle_individual):
    apply = _inactivity
    apply(now=T0 + privacy.INACTIVITY_WARNING - DAY)
    assert not _warnings().exists()
    apply(now=T0 + privacy.INACTIVITY_WARNING + DAY)
    assert [m.recipient for m in _warnings()] == ["idle@solo.example"]
    apply(now=T0 + privacy.INACTIVITY_WARNING + 2 * DAY)
    assert _warnings().count() == 1  # warned once
    apply(now=T0 + privacy.INACTIVITY_LIMIT - DAY)
    assert User.objects.filter(pk=idle_individual.pk).exists()
    apply(now=T0 + privacy.INACTIVITY_LIMIT + DAY)
    assert not User.objects.filter(pk=idle_individual.pk).exists()
    assert not Card.objects.filter(owner_id=idle_individual.pk).exists()


def test_a_restricted_account_is_neither_warned_nor_deleted_until_the_restriction_is_lifted(idle_individual):
    from tessera.privacy import services as privacy_services
    from tessera.privacy.models import ProcessingLimit

    apply = _inactivity
    privacy_services.limit_add(email="idle@solo.example", kind=ProcessingLimit.Kind.RESTRICTION)
    apply(now=T0 + privacy.INACTIVITY_LIMIT + 10 * DAY)
    assert not _warnings().exists()
    assert User.objects.filter(pk=idle_individual.pk).exists()
    privacy_services.limit_lift(email="idle@solo.example", kind=ProcessingLimit.Kind.RESTRICTION)
    apply(now=T0 + privacy.INACTIVITY_LIMIT + 11 * DAY)  # lifted: warned, with the full notice period
    assert _warnings().count() == 1
    apply(now=T0 + privacy.INACTIVITY_LIMIT + 11 * DAY + privacy.WARNING_NOTICE - DAY)
    assert User.objects.filter(pk=idle_individual.pk).exists()


def test_a_late_warning_still_gives_the_full_notice_period(idle_individual):
    apply = _inactivity
    apply(now=T0 + privacy.INACTIVITY_LIMIT + 10 * DAY)  # the job did not run for weeks: warn first
    assert _warnings().count() == 1
    apply(now=T0 + privacy.INACTIVITY_LIMIT + 10 * DAY + privacy.WARNING_NOTICE - DAY)
    assert User.objects.filter(pk=idle_individual.pk).exists()
    apply(now=T0 + privacy.INACTIVITY_LIMIT + 10 * DAY + privacy.WARNING_NOTICE + DAY)
    assert not User.objects.filter(pk=idle_individual.pk).exists()


def test_a_card_view_counts_as_activity(client, idle_individual):
    card = idle_individual.cards.get()
    with time_machine.travel(T0 + timedelta(days=300), tick=False):
        client.get(f"/c/{card.slug}")
        from tessera.cards.analytics import stats_flush

        stats_flush()
    _inactivity(now=T0 + privacy.INACTIVITY_LIMIT + DAY)
    assert not _warnings().exists()
    assert User.objects.filter(pk=idle_individual.pk).exists()


def test_organisation_can_choose_anonymisation(db):
    with time_machine.travel(T0, tick=False):
        admin = UserFactory(email="boss@org.example")
        org = accounts_services.organisation_create(owner=admin, name="Org")
        services.cards_settings_update(organisation=org, admins_see_leads=False, inactive_action="anonymise")
        card = admin.cards.get()
        services.card_update(
            card=card, changes={"first_name": "Boss", "phones": [{"kind": "work", "number": "+33123456789"}]}
        )
    apply = _inactivity
    apply(now=T0 + privacy.INACTIVITY_WARNING + DAY)
    assert "anonymisé" in _warnings().get().body_text  # the account's language, French
    apply(now=T0 + privacy.INACTIVITY_LIMIT - DAY)
    assert User.objects.get(pk=admin.pk).email == "boss@org.example"
    apply(now=T0 + privacy.INACTIVITY_LIMIT + DAY)
    user = User.objects.get(pk=admin.pk)
    assert (
        user.email == f"anonymised-{admin.pk}@invalid"
        and not user.is_active
        and not user.has_usable_password()
    )
    card.refresh_from_db()
    assert (card.first_name, card.phones, card.is_active) == ("", [], False)


def test_a_member_whose_card_was_removed_is_warned_and_deleted_like_everyone(db):
    with time_machine.travel(T0, tick=False):
        admin = UserFactory(email="boss@org.example")
        org = accounts_services.organisation_create(owner=admin, name="Org")
        services.cards_settings_update(organisation=org, admins_see_leads=False, inactive_action="anonymise")
        invitation = services.invitation_create(organisation=org, email="gone@org.example", invited_by=admin)
        member, card = services.invitation_accept(invitation=invitation, password="a-long-test-password")
    card.delete()  # removed from the back-office: the account holds no card any more
    _inactivity(now=T0 + privacy.INACTIVITY_WARNING - DAY)
    assert "gone@org.example" not in [m.recipient for m in _warnings()]
    _inactivity(now=T0 + privacy.INACTIVITY_WARNING + DAY)
    assert "gone@org.example" in [m.recipient for m in _warnings()]
    _inactivity(now=T0 + privacy.INACTIVITY_LIMIT - DAY)
    assert User.objects.filter(pk=member.pk).exists()
    _inactivity(now=T0 + privacy.INACTIVITY_LIMIT + DAY)
    assert not User.objects.filter(pk=member.pk).exists()  # no card: the company's choice does not apply


def test_lead_consent_is_in_the_ledger(card):
    lead = lead_for(card)
    record = ConsentRecord.objects.get(pk=lead.consent_record_id)
    assert record.email == lead.email and record.text_version == services.LEAD_CONSENT_VERSION
    assert record.purpose == "lead_form"


def _lead_consent_exists(lead) -> bool:
    return ConsentRecord.objects.filter(pk=lead.consent_record_id).exists()


def test_a_lead_consent_leaves_the_ledger_with_its_lead_after_three_years(card):
    from tessera.privacy.retention import retention_sweep

    with time_machine.travel(T0, tick=False):
        lead = lead_for(card)
    with time_machine.travel(T0 + privacy.LEAD_RETENTION - DAY, tick=False):
        retention_sweep()
    assert _lead_consent_exists(lead) and Lead.objects.filter(pk=lead.pk).exists()
    with time_machine.travel(T0 + privacy.LEAD_RETENTION + DAY, tick=False):
        counts = retention_sweep()
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert not _lead_consent_exists(lead)
    assert counts["cards.leads"] == 2


def test_a_lead_consent_leaves_the_ledger_when_the_owner_deletes_the_lead(card):
    kept, deleted = lead_for(card, email="kept@example.net"), lead_for(card, email="gone@example.net")
    _retention("cards.leads")(now=timezone.now())
    assert _lead_consent_exists(kept) and _lead_consent_exists(deleted)
    services.lead_delete(lead=deleted)
    _retention("cards.leads")(now=timezone.now())
    assert _lead_consent_exists(kept) and not _lead_consent_exists(deleted)
    assert not ConsentRecord.objects.filter(email="gone@example.net").exists()


def test_a_withdrawn_lead_consent_keeps_its_minimal_proof_after_the_lead_is_erased(card):
    from tessera.privacy import services as privacy_services

    lead = lead_for(card, email="vera@example.net")
    privacy_services.rights_erase(email="vera@example.net", channel="portal")
    _retention("cards.leads")(now=timezone.now())
    proof = ConsentRecord.objects.get(pk=lead.consent_record_id)
    assert proof.email == "" and proof.withdrawn_at is not None


def test_export_then_erase_a_visitor_and_a_card_holder(card, member):
    lead_for(card, email="vera@example.net", name="Vera")
    visitor = Subject(email="vera@example.net")
    sections = {s.category: s.rows for s in privacy.export_subject(visitor)}
    assert sections["details_you_exchanged"][0]["name"] == "Vera"
    privacy.erase_subject(visitor)
    assert not Lead.objects.filter(email="vera@example.net").exists()

    holder = Subject(email=member.email, user_ids=[member.pk])
    sections = {s.category: s.rows for s in privacy.export_subject(holder)}
    assert sections["cards"][0]["first_name"] == "Bob"
    outcomes = privacy.erase_subject(holder)
    assert outcomes[0].erased >= 1
    assert not Card.objects.filter(owner=member).exists()


def test_a_sign_in_resets_the_inactivity_clock(client, idle_individual):
    """Signing in through the real sign-in page moves the 24-month deadline (a card view does too)."""
    apply = _inactivity
    signed_in_at = T0 + privacy.INACTIVITY_WARNING - 10 * DAY
    with time_machine.travel(signed_in_at, tick=False):
        page = client.get("/accounts/login/").content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        response = client.post(
            "/accounts/login/",
            {"csrfmiddlewaretoken": token, "login": "idle@solo.example", "password": "a-long-test-password"},
            HTTP_ORIGIN="http://testserver",
        )
        assert response.status_code == 302, response.content.decode()[:500]
    idle_individual.refresh_from_db()
    assert idle_individual.last_login == signed_in_at
    apply(now=T0 + privacy.INACTIVITY_LIMIT + DAY)  # past the limit counted from joining: nothing happens
    assert not _warnings().exists() and User.objects.filter(pk=idle_individual.pk).exists()
    apply(now=signed_in_at + privacy.INACTIVITY_WARNING - DAY)
    assert not _warnings().exists()
    apply(now=signed_in_at + privacy.INACTIVITY_WARNING + DAY)  # 23 months after the sign-in
    assert [m.recipient for m in _warnings()] == ["idle@solo.example"]

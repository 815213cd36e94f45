"""The cards models in the back-office: every page answers, lists cost the same queries, private data stays hidden."""

import datetime

import pytest
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tessera.accounts.models import Membership
from tessera.cards import services
from tessera.cards.models import (
    Card,
    CardDailyStat,
    CardsSettings,
    Lead,
    LeadWebhook,
    WebhookDelivery,
)
from tests.factories import UserFactory

from .conftest import lead_for


@pytest.fixture
def staff_client(client, db):
    """A superuser with a second factor, as the back-office requires."""
    staff = UserFactory(email="staff@tessera.example")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "unused"})
    client.force_login(staff)
    return client


def _populate(org, card, n: int = 1) -> None:
    """At least n rows of every cards model, as the product's services write them."""
    CardsSettings.objects.update_or_create(organisation=org, defaults={"admins_see_leads": True})
    template = services.template_save(
        organisation=org,
        name="Brand",
        primary_colour="#4338ca",
        background_colour="#ffffff",
        text_colour="#161a26",
        font="inter",
        layout="banner",
        is_default=True,
    )
    if not LeadWebhook.objects.filter(organisation=org).exists():
        services.webhook_create(organisation=org, url="https://crm.example/hook")
    inviter = org.memberships.select_related("user").first().user
    for i in range(n):
        invited = services.invitation_create(
            organisation=org, email=f"new{i}-{Card.objects.count()}@alpha.example", invited_by=inviter
        )
        assert invited
        lead_for(card, email=f"visitor{i}-{Lead.objects.count()}@example.net")
        other = services.card_create(
            owner=UserFactory(email=f"solo{i}-{Card.objects.count()}@example.org"), first_name="Solo"
        )
        services.card_assign(card=other, template=None, groups=[])
        CardDailyStat.objects.create(card=other, day=datetime.date(2026, 1, 1), views_qr=i + 1)
    services.card_assign(card=card, template=template, groups=[])


def _cards_models():
    return sorted(
        (model for model in admin.site._registry if model._meta.app_label == "cards"),
        key=lambda model: model._meta.model_name,
    )


def test_every_cards_model_but_spent_challenges_is_registered():
    names = {model._meta.model_name for model in _cards_models()}
    assert names == {
        "card",
        "carddailystat",
        "cardinvitation",
        "cardssettings",
        "cardtemplate",
        "lead",
        "leadwebhook",
        "webhookdelivery",
    }


def test_every_changelist_and_change_page_answers_for_a_superuser(staff_client, org, card):
    _populate(org, card)
    for model in _cards_models():
        opts = model._meta
        changelist = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert changelist.status_code == 200, opts.label
        searched = staff_client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "alpha"}
        )
        assert searched.status_code == 200, opts.label
        obj = model.objects.first()
        assert obj is not None, opts.label
        page = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert page.status_code == 200, opts.label


def test_changelists_cost_the_same_queries_for_one_row_or_many(staff_client, org, card):
    _populate(org, card, n=1)
    assert staff_client.get(reverse("admin:index")).status_code == 200  # the first request's caches
    counts = {}
    for model in _cards_models():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.get(url).status_code == 200
        counts[opts.label] = len(queries)
    _populate(org, card, n=4)
    for model in _cards_models():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.get(url).status_code == 200
        assert len(queries) == counts[opts.label], (opts.label, [q["sql"] for q in queries.captured_queries])


def test_private_data_is_read_only_or_never_shown(staff_client, org, card):
    _populate(org, card)
    lead = Lead.objects.first()
    page = staff_client.get(reverse("admin:cards_lead_change", args=[lead.pk])).content.decode()
    assert lead.email in page and 'name="email"' not in page and 'name="notes"' not in page
    assert staff_client.get(reverse("admin:cards_lead_add")).status_code == 403
    # Leads are found by the exact address only.
    url = reverse("admin:cards_lead_changelist")
    assert lead.name in staff_client.get(url, {"q": lead.email}).content.decode()
    assert lead.name not in staff_client.get(url, {"q": lead.email.split("@")[0]}).content.decode()

    webhook = LeadWebhook.objects.get(organisation=org)
    page = staff_client.get(reverse("admin:cards_leadwebhook_change", args=[webhook.pk])).content.decode()
    assert webhook.secret not in page and 'name="is_active"' in page and 'name="url"' not in page

    delivery = WebhookDelivery.objects.first()
    page = staff_client.get(
        reverse("admin:cards_webhookdelivery_change", args=[delivery.pk])
    ).content.decode()
    assert lead.email not in page and "payload" not in page.lower()

    invitation = org.card_invitations.first()
    page = staff_client.get(
        reverse("admin:cards_cardinvitation_change", args=[invitation.pk])
    ).content.decode()
    assert invitation.token_hash not in page

    page = staff_client.get(reverse("admin:cards_card_change", args=[card.pk])).content.decode()
    assert 'name="is_active"' in page and 'name="first_name"' not in page and 'name="phones"' not in page
    assert f'href="/c/{card.slug}"' in page
    assert staff_client.get(reverse("admin:cards_card_add")).status_code == 403


def test_staff_deactivate_a_card_and_its_page_is_gone(staff_client, client, org, card):
    assert client.get(f"/c/{card.slug}").status_code == 200
    response = staff_client.post(
        reverse("admin:cards_card_changelist"),
        {"action": "deactivate", "_selected_action": [card.pk]},
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.is_active is False
    staff_client.logout()
    assert client.get(f"/c/{card.slug}").status_code == 404


def test_staff_cannot_republish_the_card_of_a_former_member(staff_client, client, org, member, card):
    services.card_set_active(card=card, active=False)
    Membership.objects.filter(organisation=org, user=member).delete()  # the member left
    action = staff_client.post(
        reverse("admin:cards_card_changelist"),
        {"action": "activate", "_selected_action": [card.pk]},
        follow=True,
    )
    assert "no longer a member" in action.content.decode()
    change = staff_client.post(reverse("admin:cards_card_change", args=[card.pk]), {"is_active": "on"})
    assert change.status_code == 200 and "no longer a member" in change.content.decode()
    card.refresh_from_db()
    assert not card.is_active
    staff_client.logout()
    assert client.get(f"/c/{card.slug}").status_code == 404


def test_staff_reactivate_the_card_of_a_member(staff_client, org, card):
    services.card_set_active(card=card, active=False)
    staff_client.post(reverse("admin:cards_card_change", args=[card.pk]), {"is_active": "on"})
    card.refresh_from_db()
    assert card.is_active

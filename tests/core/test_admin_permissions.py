"""Every back-office page and action asks for a permission: being staff (with a second factor) is not enough.

The test walks the admin as it is registered, so a view or an action added later is walked too: every URL
of every ModelAdmin (changelist, add, change, delete, history, custom views such as a request's letter)
answers 403 to a staff member without permissions, GET and POST alike, and every action either declares
its permissions or fails here; a staff member who may only look can carry out none of them.
"""

import re
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.urls import URLPattern
from django.utils import timezone

from tessera.accounts import services as accounts_services
from tessera.accounts.services import api_key_create
from tessera.cards import services as cards
from tessera.cards.models import CardDailyStat, CardsSettings, CardTemplate
from tessera.core.audit import security_event_record
from tessera.core.models import OutboxAttachment, SecurityEvent
from tessera.core.outbox import email_queue
from tessera.meetings import services as meetings
from tessera.meetings.models import MeetingSession
from tessera.privacy import services as privacy
from tessera.privacy.models import InactivityWarning, Incident, RetentionRun, RightsRequest
from tessera.privacy.policy import policy_publish
from tests.cards.conftest import lead_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@pytest.fixture
def world(settings):
    """One row of every model the back-office shows, made the way the product makes them."""
    settings.TESSERA_CARDS_POW_BITS = 8
    owner = UserFactory(email="owner@alpha.example", full_name="Olga Owner")
    organisation = accounts_services.organisation_create(owner=owner, name="Alpha")
    card = owner.cards.get()
    CardsSettings.objects.filter(organisation=organisation).update(admins_see_leads=True)
    api_key_create(organisation=organisation, name="crm")
    cards.webhook_create(organisation=organisation, url="https://crm.alpha.example/hook")
    lead_for(card)
    cards.invitation_create(organisation=organisation, email="new@alpha.example", invited_by=owner)
    CardTemplate.objects.create(organisation=organisation, name="HQ")
    CardDailyStat.objects.create(card=card, day=timezone.now().date())
    InactivityWarning.objects.create(user=owner, warned_at=timezone.now())
    Group.objects.create(name="support")
    app = SocialApp.objects.create(provider="google", name="Google", client_id="id", secret="s")
    social = SocialAccount.objects.create(user=owner, provider="google", uid="42")
    SocialToken.objects.create(account=social, app=app, token="t")
    with transaction.atomic():
        email_queue(
            to="guest@example.org",
            subject="Hello",
            body_text="Hi",
            kind="test",
            attachments=(("a.txt", b"x", "text/plain"),),
        )
    security_event_record(action="test.event", email="guest@example.org")
    privacy.rights_request_create(email=owner.email, kind=RightsRequest.Kind.ERASURE, channel="email")
    privacy.rights_request_create(email=owner.email, kind=RightsRequest.Kind.ACCESS, channel="email")
    privacy.consent_record(
        email=owner.email, purpose="marketing", text="news", text_version="1", method="box"
    )
    privacy.limit_add(email="someone@example.org", kind="objection_marketing")
    privacy.directive_set(email=owner.email, instruction="erase")
    policy_publish()
    RetentionRun.objects.get_or_create(activity="test", defaults={"last_run_at": timezone.now()})
    Incident.objects.create(
        title="Lost laptop",
        nature="n",
        detected_at=timezone.now(),
        people_categories="p",
        record_categories="r",
        consequences="c",
        measures="m",
        affected_emails="owner@alpha.example",
    )
    created = meetings.event_create(
        title="Point",
        starts_at=timezone.now() + timedelta(days=2),
        time_zone="Europe/Paris",
        duration_minutes=30,
        organiser_email="organiser@example.org",
        invitees=["ben@example.com"],
        age_confirmed=True,
    )
    MeetingSession.objects.create(event=created.event)
    return owner


def _staff(email, permissions=()):
    user = UserFactory(email=email)
    user.is_staff = True
    user.save()
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "unused"})
    user.user_permissions.set(permissions)
    return user


def _snapshot() -> dict:
    """Every row the back-office shows, but sign-in bookkeeping (which any request updates) and the
    security log's record of the reads themselves (tests/cards/test_admin_reads.py)."""
    skip = {"last_login", "last_activity_at"}
    return {
        model._meta.label: [
            {k: v for k, v in row.items() if k not in skip}
            for row in model.objects.order_by("pk").values()
            if row.get("action") != "admin.viewed" or model is not SecurityEvent
        ]
        for model in admin.site._registry
    }


def _admin_urls() -> list[str]:
    """Every URL of every registered ModelAdmin, with its parameters filled from a real row."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        row = model.objects.order_by("pk").first()
        assert row is not None, f"the fixture makes no {model._meta.label}: add one so its pages are walked"
        prefix = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for pattern in model_admin.get_urls():
            assert isinstance(pattern, URLPattern)
            route = str(pattern.pattern).lstrip("^").rstrip("$")

            def fill(match, row=row):
                if match["name"] == "attachment_id":
                    return str(OutboxAttachment.objects.first().pk)
                return str(row.pk)

            urls.append(prefix + PARAMETER.sub(fill, route))
    return urls


def test_every_back_office_url_refuses_a_staff_member_without_permissions(client, world):
    client.force_login(_staff("nobody@operator.example"))
    before = _snapshot()
    urls = _admin_urls()
    assert any("/letter/" in url for url in urls) and any("/draft/" in url for url in urls)
    for url in urls:
        for method in (client.get, client.post):
            response = method(url, follow=True)
            assert response.status_code == 403, f"{method.__name__.upper()} {url}: {response.status_code}"
    assert _snapshot() == before


def _actions():
    for model, model_admin in admin.site._registry.items():
        for action in model_admin._get_base_actions():
            yield model, model_admin, action


def test_every_action_declares_its_permissions():
    undeclared = [
        f"{model._meta.label}: {name}"
        for model, _admin, (func, name, _description) in _actions()
        if not getattr(func, "allowed_permissions", ()) or set(func.allowed_permissions) == {"view"}
    ]
    assert undeclared == []


def test_a_staff_member_who_may_only_look_can_carry_out_no_action(client, world):
    client.force_login(
        _staff("viewer@operator.example", Permission.objects.filter(codename__startswith="view_"))
    )
    before = _snapshot()
    walked = 0
    for model, _model_admin, (_func, name, _description) in _actions():
        changelist = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(changelist).status_code == 200, changelist
        pks = [str(pk) for pk in model.objects.values_list("pk", flat=True)]
        response = client.post(changelist, {"action": name, "_selected_action": pks, "post": "yes"})
        assert response.status_code in (200, 302), f"{name} on {changelist}: {response.status_code}"
        assert "attachment" not in response.get("Content-Disposition", ""), f"{name} on {changelist}"
        walked += 1
    assert walked >= 9  # the rights-request actions, the incident's, the cards', the outbox's, ...
    assert _snapshot() == before
    assert RightsRequest.objects.filter(status__in=RightsRequest.OPEN).count() == 2

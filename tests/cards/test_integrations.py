"""The organisation's integrations url: API keys and lead webhooks, shown once, per organisation."""

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from tessera.accounts.models import OrganisationApiKey
from tessera.cards import services
from tessera.cards.models import LeadWebhook, WebhookDelivery
from tessera.core.models import SecurityEvent

from .conftest import _Receiver, lead_for

pytestmark = pytest.mark.django_db
KEY = re.compile(r'id="new-key" class="secret">(tsk_[A-Za-z0-9_-]+)<')
SECRET = re.compile(r'id="new-secret" class="secret">([A-Za-z0-9_-]+)<')


@pytest.fixture
def url(client, admin_user, org):
    client.force_login(admin_user)
    return f"/cards/org/{org.slug}/integrations/"


def test_a_key_is_shown_once_works_on_the_api_and_stops_when_revoked(client, url, org):
    response = client.post(url, {"action": "key_create", "key-name": "CRM sync"})
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    key = KEY.search(response.content.decode()).group(1)
    record = OrganisationApiKey.objects.get(organisation=org)
    assert record.name == "CRM sync" and key not in record.key_hash
    listing = client.get(url).content.decode()
    assert key not in listing and f"tsk_{record.prefix}_…" in listing
    api = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/v1/cards/", **api).status_code == 200
    assert client.post(url, {"action": "key_revoke", "key": record.pk}).status_code == 302
    assert client.get("/api/v1/cards/", **api).status_code == 401
    actions = set(SecurityEvent.objects.values_list("action", flat=True))
    assert {"cards.api_key.created", "cards.api_key.revoked"} <= actions


def test_a_key_needs_a_name_and_nothing_is_created_without_one(client, url):
    response = client.post(url, {"action": "key_create", "key-name": ""})
    assert response.status_code == 400
    assert OrganisationApiKey.objects.count() == 0


def test_webhooks_need_shared_leads_then_the_secret_is_shown_once_and_a_test_is_signed(
    client,
    url,
    org,
    receiver,
    django_capture_on_commit_callbacks,
):
    refused = client.post(url, {"action": "hook_create", "hook-url": receiver})
    assert refused.status_code == 400 and LeadWebhook.objects.count() == 0
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    _Receiver.fail_first = 0
    response = client.post(url, {"action": "hook_create", "hook-url": receiver})
    assert response.status_code == 200
    secret = SECRET.search(response.content.decode()).group(1)
    hook = LeadWebhook.objects.get(organisation=org)
    assert hook.secret == secret and secret not in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "hook_ping", "hook": hook.pk})
    delivery = WebhookDelivery.objects.get(webhook=hook, event="ping")
    assert delivery.status == "delivered"  # the test settings run tasks at once
    headers, body = _Receiver.received[0]
    assert headers["Tessera-Event"] == "ping"
    timestamp, mac = (part.split("=", 1)[1] for part in headers["Tessera-Signature"].split(","))
    assert services.webhook_signature(secret=secret, timestamp=int(timestamp), body=body).endswith(mac)
    assert "delivered" in client.get(url).content.decode()
    client.post(url, {"action": "hook_pause", "hook": hook.pk})
    hook.refresh_from_db()
    assert hook.is_active is False
    client.post(url, {"action": "hook_delete", "hook": hook.pk})
    assert LeadWebhook.objects.count() == 0


def test_a_bad_webhook_url_is_refused_with_a_message(client, url, org, settings):
    settings.TESSERA_OUTBOUND_ALLOW_PRIVATE = False
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    for address, message in (
        ("not a url", "Enter a valid URL"),
        ("http://10.0.0.5/hook", "public internet address"),
    ):
        response = client.post(url, {"action": "hook_create", "hook-url": address})
        assert response.status_code == 400 and message in response.content.decode(), address
    assert LeadWebhook.objects.count() == 0


def test_one_organisation_cannot_touch_anothers_keys_or_hooks(client, url, other_org):
    from tessera.accounts.services import api_key_create

    other_key, _clear = api_key_create(organisation=other_org, name="theirs")
    other_hook = LeadWebhook.objects.create(
        organisation=other_org, url="https://crm.beta.example/h", secret="s"
    )
    assert client.post(url, {"action": "key_revoke", "key": other_key.pk}).status_code == 404
    for action in ("hook_ping", "hook_pause", "hook_delete"):
        assert client.post(url, {"action": action, "hook": other_hook.pk}).status_code == 404
    other_key.refresh_from_db()
    assert (
        other_key.revoked_at is None and LeadWebhook.objects.filter(pk=other_hook.pk, is_active=True).exists()
    )
    assert "crm.beta.example" not in client.get(url).content.decode()


def _logged(action: str) -> list:
    return [e.data for e in SecurityEvent.objects.filter(action=f"cards.webhook.{action}").order_by("seq")]


def test_pausing_resuming_and_deleting_a_webhook_log_what_was_done_to_which_hook(client, url, org):
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    hook = services.webhook_create(organisation=org, url="https://crm.alpha.example/h")
    expected = {"organisation": org.pk, "webhook": hook.pk}
    assert client.post(url, {"action": "hook_pause", "hook": hook.pk}).status_code == 302
    assert (_logged("paused"), _logged("resumed")) == ([expected], [])
    assert client.post(url, {"action": "hook_resume", "hook": hook.pk}).status_code == 302
    assert (_logged("paused"), _logged("resumed")) == ([expected], [expected])
    hook.refresh_from_db()
    assert hook.is_active is True
    assert client.post(url, {"action": "hook_ping", "hook": hook.pk}).status_code == 302
    assert client.post(url, {"action": "hook_delete", "hook": hook.pk}).status_code == 302
    assert _logged("pinged") == [expected]
    assert _logged("deleted") == [expected]  # with the hook's number, read before it is gone


def test_webhooks_created_and_deleted_through_the_api_are_in_the_security_log(client, org, api_key):
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    created = client.post(
        "/api/v1/cards/webhooks",
        {"url": "https://crm.alpha.example/h"},
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201
    expected = {"organisation": org.pk, "webhook": created.json()["id"]}
    assert _logged("created") == [expected]
    assert client.delete(f"/api/v1/cards/webhooks/{created.json()['id']}", **auth).status_code == 204
    assert _logged("deleted") == [expected]


def test_the_service_refuses_a_webhook_while_the_organisation_keeps_its_leads_private(org, client, api_key):
    with translation.override("en"), pytest.raises(ValidationError, match="first let admins see"):
        services.webhook_create(organisation=org, url="https://crm.alpha.example/h")
    refused = client.post(
        "/api/v1/cards/webhooks",
        {"url": "https://crm.alpha.example/h"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )
    assert refused.status_code == 403
    assert LeadWebhook.objects.count() == 0 and _logged("created") == []


@pytest.mark.parametrize("garbage", ["", "abc", "0", "-3", "1.5", "99999999999999999999999"])
def test_a_button_posting_no_record_number_is_a_bad_request(client, url, org, garbage):
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    hook = services.webhook_create(organisation=org, url="https://crm.alpha.example/h")
    for action in ("hook_ping", "hook_pause", "hook_resume", "hook_delete"):
        assert client.post(url, {"action": action, "hook": garbage}).status_code == 400, action
    assert client.post(url, {"action": "key_revoke", "key": garbage}).status_code == 400
    assert LeadWebhook.objects.filter(pk=hook.pk, is_active=True).exists()
    assert not WebhookDelivery.objects.exists()


T0 = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)


def test_a_receiver_that_keeps_failing_is_retried_with_backoff_then_given_up(
    card, org, receiver, time_machine
):
    time_machine.move_to(T0, tick=False)
    _Receiver.fail_first = 100
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    services.webhook_create(organisation=org, url=receiver)
    lead_for(card)
    delivery = WebhookDelivery.objects.get()
    delays = []
    for _attempt in range(services.WEBHOOK_MAX_ATTEMPTS):
        tried_at = delivery.next_attempt_at
        time_machine.move_to(tried_at, tick=False)
        assert services.webhook_deliver_due() == 0
        delivery.refresh_from_db()
        delays.append((delivery.next_attempt_at - tried_at).total_seconds())
    assert (delivery.status, delivery.attempts) == (
        WebhookDelivery.Status.FAILED,
        services.WEBHOOK_MAX_ATTEMPTS,
    )
    for attempt, delay in enumerate(delays, start=1):
        base = min(15 * 2 ** (attempt - 1), 3600)
        assert base * 0.9 <= delay <= base * 1.1, (attempt, delay)
    time_machine.shift(timedelta(days=2))
    assert services.webhook_deliver_due() == 0
    assert _Receiver.received == [] and _Receiver.fail_first == 100 - services.WEBHOOK_MAX_ATTEMPTS


def test_a_delivery_whose_worker_died_goes_out_once_after_the_claim_timeout(
    card, org, receiver, time_machine
):
    time_machine.move_to(T0, tick=False)
    _Receiver.fail_first = 0
    services.cards_settings_update(organisation=org, admins_see_leads=True, inactive_action="delete")
    services.webhook_create(organisation=org, url=receiver)
    lead_for(card)
    delivery = WebhookDelivery.objects.get()

    def worker_killed(request):
        raise SystemExit("the worker was killed mid-send")

    with pytest.raises(SystemExit):
        services.webhook_deliver(
            delivery_id=delivery.pk, client=httpx.Client(transport=httpx.MockTransport(worker_killed))
        )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.claimed_at) == ("sending", 1, T0)
    time_machine.shift(services.WEBHOOK_CLAIM_TIMEOUT - timedelta(seconds=1))
    assert services.webhook_deliver_due() == 0
    assert services.webhook_deliver(delivery_id=delivery.pk) is False
    time_machine.shift(timedelta(seconds=2))
    assert services.webhook_deliver_due() == 1
    assert services.webhook_deliver_due() == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.claimed_at) == ("delivered", 2, None)
    assert len(_Receiver.received) == 1

"""The organisation's integrations url: API keys and lead webhooks, shown once, per organisation."""

import re

import pytest

from tessera.accounts.models import OrganisationApiKey
from tessera.cards import services
from tessera.cards.models import LeadWebhook, WebhookDelivery
from tessera.core.models import SecurityEvent

from .conftest import _Receiver

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

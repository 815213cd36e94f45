"""Lead webhooks: their management, signed payloads and durable delivery through tessera.core.delivery."""

import hashlib
import hmac
import json
import secrets
from datetime import timedelta

import httpx
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera.accounts.models import Organisation, User
from tessera.core import delivery as durable
from tessera.core import outbound
from tessera.core.audit import security_event_record

from ..fields import LEAD_DETAILS
from ..models import Lead, LeadWebhook, WebhookDelivery
from ..selectors import leads_shared, owner_restricted
from .validation import url_normalise


def lead_payload(lead: Lead) -> dict:
    return {
        "id": str(lead.pk),
        "card": lead.card.slug,
        "owner_email": lead.owner.email,
        **{name: getattr(lead, name) for name in LEAD_DETAILS},
        "status": lead.status,
        "tags": lead.tags,
        "created_at": lead.created_at.isoformat(),
    }


WEBHOOK_MAX_ATTEMPTS = 12
# A delivery left in "sending" this long was claimed by a worker that died: it is due again.
WEBHOOK_CLAIM_TIMEOUT = timedelta(minutes=5)
# Claim, backoff, give-up and after-commit enqueue are the outbox's engine (tessera.core.delivery).
WEBHOOKS = durable.Channel(
    model=WebhookDelivery,
    task="tessera.cards.tasks.webhook_deliver_task",
    delivered=WebhookDelivery.Status.DELIVERED,
    delivered_at="delivered_at",
    given_up=WebhookDelivery.Status.FAILED,
    claim_timeout=WEBHOOK_CLAIM_TIMEOUT,
    max_attempts=WEBHOOK_MAX_ATTEMPTS,
    errors=(httpx.HTTPError,),
    related=("webhook", "lead"),
)


class LeadsNotShared(ValidationError):
    """The organisation keeps its members' leads from its administrators, so no webhook may carry them."""


def _webhook_log(*, action: str, webhook: LeadWebhook, actor, request) -> None:
    security_event_record(
        action=f"cards.webhook.{action}",
        actor=actor,
        request=request,
        data={"organisation": webhook.organisation_id, "webhook": webhook.pk},
    )


@transaction.atomic
def webhook_create(
    *, organisation: Organisation, url: str, actor: User | None = None, request=None
) -> LeadWebhook:
    """Add a receiver of the organisation's new leads; its signing secret is on the returned hook only.

    Refused with a ValidationError for an address that is not public, and with LeadsNotShared while the
    organisation keeps its members' leads from its administrators. No `actor`: its API key made it.
    """
    url = url_normalise(url)
    try:
        outbound.url_check(url)
    except outbound.DestinationRefused as refused:
        raise ValidationError({"url": [str(refused)]}) from None
    if not leads_shared(organisation=organisation):
        raise LeadsNotShared(
            _("Webhooks carry leads: first let admins see the members' leads."), code="leads_not_shared"
        )
    hook = LeadWebhook.objects.create(organisation=organisation, url=url, secret=secrets.token_urlsafe(32))
    _webhook_log(action="created", webhook=hook, actor=actor, request=request)
    return hook


@transaction.atomic
def webhook_delete(*, webhook: LeadWebhook, actor: User | None = None, request=None) -> None:
    _webhook_log(action="deleted", webhook=webhook, actor=actor, request=request)  # while it has its id
    webhook.delete()


@transaction.atomic
def webhook_active_set(
    *, webhook: LeadWebhook, active: bool, actor: User | None = None, request=None
) -> None:
    """Pause or resume a hook; while paused, new leads queue no delivery for it."""
    LeadWebhook.objects.filter(pk=webhook.pk).update(is_active=active)
    webhook.is_active = active
    _webhook_log(action="resumed" if active else "paused", webhook=webhook, actor=actor, request=request)


@transaction.atomic
def webhook_ping(
    *, webhook: LeadWebhook, actor: User | None = None, request=None, now=None
) -> WebhookDelivery:
    """Queue a signed `ping` to the hook, through the same durable path as leads, to test a receiver."""
    now = now or timezone.now()
    ping = WebhookDelivery.objects.create(
        webhook=webhook,
        event="ping",
        payload={"event": "ping", "webhook": webhook.pk, "sent_at": now.isoformat()},
        created_at=now,
        next_attempt_at=now,
    )
    _webhook_log(action="pinged", webhook=webhook, actor=actor, request=request)
    durable.enqueue_on_commit(WEBHOOKS, ping.pk)
    return ping


def webhooks_queue(*, organisation_id: int, lead: Lead) -> list[WebhookDelivery]:
    if not leads_shared(organisation=organisation_id):
        return []  # the organisation did not choose to see its members' leads (or stopped)
    deliveries = [
        WebhookDelivery.objects.create(
            webhook=hook, lead=lead, payload={"event": "lead.created", "lead": lead_payload(lead)}
        )
        for hook in LeadWebhook.objects.filter(organisation_id=organisation_id, is_active=True)
    ]
    for queued in deliveries:
        durable.enqueue_on_commit(WEBHOOKS, queued.pk)
    return deliveries


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _delivery_restricted(delivery: WebhookDelivery) -> bool:
    """The lead it carries belongs to a restricted owner or a restricted visitor (a ping carries nobody)."""
    from tessera.privacy.models import ProcessingLimit
    from tessera.privacy.services import limit_active

    lead = delivery.payload.get("lead") if isinstance(delivery.payload, dict) else None
    if not lead:
        return False
    if delivery.lead_id and owner_restricted(owner_id=delivery.lead.owner_id):
        return True
    addresses = [a for a in (lead.get("email"), lead.get("owner_email")) if isinstance(a, str) and a]
    return any(limit_active(email=a, kinds=[ProcessingLimit.Kind.RESTRICTION]) for a in addresses)


def _webhook_post(delivery: WebhookDelivery, *, now, client: httpx.Client | None) -> None:
    """POST one signed delivery; raises an httpx.HTTPError unless the receiver answers 2xx."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tessera-Webhook/1",
        "Tessera-Event": delivery.event,
        "Tessera-Delivery": str(delivery.pk),
        "Tessera-Signature": webhook_signature(
            secret=delivery.webhook.secret, timestamp=timestamp, body=body
        ),
    }
    # Only to public addresses, connected to the address that was checked (tessera.core.outbound).
    if client is None:
        with httpx.Client(timeout=10, follow_redirects=False) as own:
            response = outbound.post(delivery.webhook.url, content=body, headers=headers, client=own)
    else:
        response = outbound.post(delivery.webhook.url, content=body, headers=headers, client=client)
    if not 200 <= response.status_code < 300:
        raise httpx.HTTPStatusError(
            f"HTTP {response.status_code}", request=response.request, response=response
        )


def webhook_deliver(*, delivery_id, now=None, client: httpx.Client | None = None) -> bool:
    """POST one delivery if it is due; True if it was delivered by this call.

    On failure it stays pending with a backed-off next attempt, and is given up after
    WEBHOOK_MAX_ATTEMPTS. A delivery whose lead is under a restriction of processing is held, not sent,
    and goes out once the restriction is lifted (webhook_deliver_due releases it).
    """
    now = now or timezone.now()
    result = durable.attempt(
        WEBHOOKS,
        delivery_id,
        now=now,
        send=lambda delivery: _webhook_post(delivery, now=now, client=client),
        held=_delivery_restricted,
    )
    return result.outcome is durable.Outcome.DELIVERED


def webhook_deliveries_release(*, now=None) -> int:
    """Held deliveries whose restriction was lifted become due again (privacy sends no signal on a lift)."""
    held = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.HELD).select_related("lead")
    released = [d.pk for d in held.iterator() if not _delivery_restricted(d)]
    return durable.release(WEBHOOKS, released, now=now or timezone.now())


def webhook_deliver_due(*, now=None, limit: int = 100) -> int:
    now = now or timezone.now()
    webhook_deliveries_release(now=now)
    return sum(
        webhook_deliver(delivery_id=pk, now=now) for pk in durable.due_ids(WEBHOOKS, now=now, limit=limit)
    )

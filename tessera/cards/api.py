"""Cards API for organisations' own tools (CRM, provisioning), authenticated by organisation API keys."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from tessera.accounts.api_keys import OrganisationKeyAuth
from tessera.accounts.models import User

from . import formats, services
from .models import Card, CardsSettings, Lead, LeadWebhook
from .selectors import leads_usable

router = Router(auth=OrganisationKeyAuth(), tags=["cards"])


class PhoneIn(Schema):
    kind: str = "work"
    number: str
    public: bool = True


class EmailIn(Schema):
    kind: str = "work"
    address: str
    public: bool = True


class LinkIn(Schema):
    label: str
    url: str
    public: bool = True


class CustomFieldIn(Schema):
    label: str
    value: str
    public: bool = True


class CardPatch(Schema):
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    company: str | None = None
    department: str | None = None
    bio: str | None = None
    website: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    phones: list[PhoneIn] | None = None
    emails: list[EmailIn] | None = None
    links: list[LinkIn] | None = None
    custom_fields: list[CustomFieldIn] | None = None
    visibility: dict[str, str] | None = None


class CardCreate(CardPatch):
    owner_email: str


class CardOut(Schema):
    slug: str
    url: str
    is_active: bool
    owner_email: str
    first_name: str
    last_name: str
    job_title: str
    company: str
    department: str
    bio: str
    website: str
    street: str
    postal_code: str
    city: str
    country: str
    phones: list[dict]
    emails: list[dict]
    links: list[dict]
    custom_fields: list[dict]
    visibility: dict
    updated_at: datetime


class LeadOut(Schema):
    id: str
    card: str
    owner_email: str
    name: str
    email: str
    phone: str
    company: str
    job_title: str
    message: str
    status: str
    tags: list[str]
    created_at: str


class WebhookIn(Schema):
    url: str


class WebhookOut(Schema):
    id: int
    url: str
    is_active: bool


class WebhookCreated(WebhookOut):
    secret: str


def _out(card: Card) -> dict:
    from .selectors import card_profile

    profile = card_profile(card)
    return {
        **{k: profile[k] for k in CardPatch.model_fields if k in profile},
        "slug": card.slug,
        "url": formats.card_url(card),
        "is_active": card.is_active,
        "owner_email": card.owner.email,
        "updated_at": card.updated_at,
    }


def _changes(payload: CardPatch) -> dict:
    return payload.model_dump(exclude_unset=True, exclude={"owner_email"})


def _validation(error: ValidationError) -> HttpError:
    if hasattr(error, "error_dict"):
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
    else:
        detail = " ".join(error.messages)
    return HttpError(422, detail)


def _card(request, slug) -> Card:
    return get_object_or_404(
        Card.objects.select_related("owner"), organisation=request.organisation, slug=slug
    )


def _leads_allowed(request) -> None:
    cards_settings = CardsSettings.objects.filter(organisation=request.organisation).first()
    if cards_settings is None or not cards_settings.admins_see_leads:
        raise HttpError(
            403, "The organisation has not chosen to share its members' leads with its administrators."
        )


@router.get("/leads", response=list[LeadOut])
def lead_export(request, since: datetime | None = None):
    _leads_allowed(request)
    # A lead of a restricted card owner or of a restricted visitor is kept but not handed to other tools.
    leads = leads_usable(Lead.objects.filter(organisation=request.organisation)).select_related(
        "card", "owner"
    )
    if since is not None:
        leads = leads.filter(created_at__gte=since)
    return [services.lead_payload(lead) for lead in leads]


@router.get("/webhooks", response=list[WebhookOut])
def webhook_list(request):
    return list(LeadWebhook.objects.filter(organisation=request.organisation))


@router.post("/webhooks", response={201: WebhookCreated})
def webhook_create(request, payload: WebhookIn):
    _leads_allowed(request)
    try:
        return Status(201, services.webhook_create(organisation=request.organisation, url=payload.url))
    except ValidationError as error:
        raise _validation(error) from None


@router.delete("/webhooks/{webhook_id}", response={204: None})
def webhook_delete(request, webhook_id: int):
    services.webhook_delete(
        webhook=get_object_or_404(LeadWebhook, organisation=request.organisation, pk=webhook_id)
    )
    return Status(204, None)


@router.get("", response=list[CardOut])
def card_list(request):
    return [_out(c) for c in Card.objects.filter(organisation=request.organisation).select_related("owner")]


@router.post("", response={201: CardOut})
def card_create(request, payload: CardCreate):
    owner = User.objects.filter(email=payload.owner_email.strip().lower()).first()
    if owner is None:
        raise HttpError(422, "owner_email: this person is not a member of the organisation.")
    try:
        card = services.card_create(owner=owner, organisation=request.organisation, **_changes(payload))
    except ValidationError as error:
        raise _validation(error) from None
    return Status(201, _out(card))


@router.get("/{slug}", response=CardOut)
def card_read(request, slug: str):
    return _out(_card(request, slug))


@router.patch("/{slug}", response=CardOut)
def card_update(request, slug: str, payload: CardPatch):
    try:
        # The organisation's own key acts as its administrators do.
        card = services.card_update(
            card=_card(request, slug), changes=_changes(payload), actor=request.organisation
        )
    except ValidationError as error:
        raise _validation(error) from None
    return _out(card)


@router.post("/{slug}/deactivate", response=CardOut)
def card_deactivate(request, slug: str):
    return _out(services.card_set_active(card=_card(request, slug), active=False))

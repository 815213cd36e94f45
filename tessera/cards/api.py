"""Cards API for organisations' own tools (CRM, provisioning), authenticated by organisation API keys."""

from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema, Status
from ninja.errors import HttpError

from tessera.accounts.api_keys import OrganisationKeyAuth
from tessera.accounts.models import User
from tessera.core.api import ApiError, error_responses, links

from . import formats, services
from .fields import TEXT_LIMITS
from .models import VISIBILITY_FIELDS, Card, Lead, LeadWebhook
from .selectors import leads_shared, leads_usable, webhooks_of
from .services import MAX_ITEMS

router = Router(auth=OrganisationKeyAuth(), tags=["cards"])


# Constraints the services enforce, documented so that a generated client can check them first.
NO_NUL = r"^[^\x00]*$"
WEB = r"^(https?://[^\x00]*)?$"
EMAIL = {"format": "email"}
NULL_KEEPS = "Null or absent: no change."
SLUG = Path(..., max_length=32, pattern=r"^[-a-zA-Z0-9_]+$")


def _text(name: str):
    return Field(None, max_length=TEXT_LIMITS[name], pattern=NO_NUL, description=NULL_KEEPS)


def _items():
    return Field(None, max_length=MAX_ITEMS, description=f"{NULL_KEEPS} An empty list removes them all.")


class PhoneIn(Schema):
    kind: Literal["work", "mobile", "personal"] = "work"
    number: str = Field(
        min_length=1, max_length=40, description="International format, e.g. +33 6 12 34 56 78 (else 422)."
    )
    public: bool = True


class EmailIn(Schema):
    kind: Literal["work", "personal"] = "work"
    address: str = Field(min_length=3, max_length=254, json_schema_extra=EMAIL)
    public: bool = True


class LinkIn(Schema):
    label: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")
    url: str = Field(
        min_length=1, max_length=2000, pattern=r"^https?://[^\x00]*$", json_schema_extra={"format": "uri"}
    )
    public: bool = True


class CustomFieldIn(Schema):
    label: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")
    value: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")
    public: bool = True


class CardPatch(Schema):
    """Fields to change. A field left out or null stays as it is; an empty string or list clears it."""

    first_name: str | None = _text("first_name")
    last_name: str | None = _text("last_name")
    job_title: str | None = _text("job_title")
    company: str | None = _text("company")
    department: str | None = _text("department")
    bio: str | None = _text("bio")
    website: str | None = Field(
        None, max_length=TEXT_LIMITS["website"], pattern=WEB, description=f"{NULL_KEEPS} An http(s) address."
    )
    office: str | None = _text("office")
    street: str | None = _text("street")
    postal_code: str | None = _text("postal_code")
    city: str | None = _text("city")
    country: str | None = _text("country")
    phones: list[PhoneIn] | None = _items()
    emails: list[EmailIn] | None = _items()
    links: list[LinkIn] | None = _items()
    custom_fields: list[CustomFieldIn] | None = _items()
    visibility: dict[Literal[VISIBILITY_FIELDS], Literal["public", "vcard"]] | None = Field(
        None,
        description=f"{NULL_KEEPS} Where each optional field shows: on the public page or only in the vCard.",
    )


class CardCreate(CardPatch):
    owner_email: str = Field(min_length=3, max_length=254, json_schema_extra=EMAIL)


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
    office: str
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
    url: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^https?://[^\x00]*$",
        json_schema_extra={"format": "uri"},
        description="A public http(s) address; private and loopback destinations are refused (422).",
    )


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
    # Null means "no change", as the schema says; "" and [] clear.
    return payload.model_dump(exclude_unset=True, exclude_none=True, exclude={"owner_email"})


def _validation(error: ValidationError) -> HttpError:
    if hasattr(error, "error_dict"):
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        return ApiError(422, detail, {k: list(v) for k, v in error.message_dict.items()})
    return ApiError(422, " ".join(error.messages))


def _card(request, slug) -> Card:
    return get_object_or_404(
        Card.objects.select_related("owner"), organisation=request.organisation, slug=slug
    )


def _leads_not_shared() -> HttpError:
    return HttpError(
        403, _("The organisation has not chosen to share its members' leads with its administrators.")
    )


@router.get("/leads", response={200: list[LeadOut], **error_responses(401, 403, 422)})
def lead_export(request, since: datetime | None = None):
    if not leads_shared(organisation=request.organisation):
        raise _leads_not_shared()
    # A lead of a restricted card owner or of a restricted visitor is kept but not handed to other tools.
    leads = leads_usable(Lead.objects.filter(organisation=request.organisation)).select_related(
        "card", "owner"
    )
    if since is not None:
        leads = leads.filter(created_at__gte=since)
    return [services.lead_payload(lead) for lead in leads]


@router.get("/webhooks", response={200: list[WebhookOut], **error_responses(401)})
def webhook_list(request):
    return list(webhooks_of(organisation=request.organisation))


@router.post("/webhooks", response={201: WebhookCreated, **error_responses(400, 401, 403, 422)})
def webhook_create(request, payload: WebhookIn):
    try:
        hook = services.webhook_create(organisation=request.organisation, url=payload.url, request=request)
    except services.LeadsNotShared:
        raise _leads_not_shared() from None
    except ValidationError as error:
        raise _validation(error) from None
    return Status(201, hook)


@router.delete("/webhooks/{webhook_id}", response={204: None, **error_responses(401, 404, 422)})
def webhook_delete(request, webhook_id: int = Path(..., ge=1, le=2**63 - 1)):
    services.webhook_delete(
        webhook=get_object_or_404(LeadWebhook, organisation=request.organisation, pk=webhook_id),
        request=request,
    )
    return Status(204, None)


@router.get(
    "",
    response={200: list[CardOut], **error_responses(401)},
    openapi_extra=links(
        200,
        "slug",
        "/0/slug",
        ReadCard="tessera_cards_api_card_read",
        UpdateCard="tessera_cards_api_card_update",
        DeactivateCard="tessera_cards_api_card_deactivate",
    ),
)
def card_list(request):
    return [_out(c) for c in Card.objects.filter(organisation=request.organisation).select_related("owner")]


@router.post("", response={201: CardOut, **error_responses(400, 401, 422)})
def card_create(request, payload: CardCreate):
    # An unknown address and an account outside the organisation get the same answer: a key learns
    # nothing about who has an account.
    owner = User.objects.filter(
        email=payload.owner_email.strip().lower(), memberships__organisation=request.organisation
    ).first()
    if owner is None:
        message = _("This person is not a member of the organisation.")
        raise ApiError(422, f"owner_email: {message}", {"owner_email": [message]})
    try:
        card = services.card_create(owner=owner, organisation=request.organisation, **_changes(payload))
    except ValidationError as error:
        raise _validation(error) from None
    return Status(201, _out(card))


@router.get("/{slug}", response={200: CardOut, **error_responses(401, 404, 422)})
def card_read(request, slug: str = SLUG):
    return _out(_card(request, slug))


@router.patch("/{slug}", response={200: CardOut, **error_responses(400, 401, 404, 422)})
def card_update(request, payload: CardPatch, slug: str = SLUG):
    try:
        # The organisation's own key acts as its administrators do.
        card = services.card_update(
            card=_card(request, slug), changes=_changes(payload), actor=request.organisation
        )
    except ValidationError as error:
        raise _validation(error) from None
    return _out(card)


@router.post("/{slug}/deactivate", response={200: CardOut, **error_responses(401, 404, 422)})
def card_deactivate(request, slug: str = SLUG):
    return _out(services.card_set_active(card=_card(request, slug), active=False))

"""What other apps may read of members' cards, through accounts' hooks (signatures renders from it)."""

from django.db.models import Q

from .formats import card_url
from .models import Card, CardTemplate
from .selectors import _owner_restricted_annotation, card_public_profile, card_template_for

# Only web addresses reach another app's links: a `javascript:` URL must not become a signature's link.
_WEB = ("https://", "http://")


def _address(profile: dict) -> str:
    town = " ".join(part for part in (profile["postal_code"], profile["city"]) if part)
    return ", ".join(part for part in (profile["street"], town, profile["country"]) if part)


def _photo_url(card: Card, profile: dict) -> str:
    if not profile["has_photo"]:
        return ""
    return f"{card_url(card)}/photo-{card.photo_version}.jpg"


def member_profile(card: Card, templates: list | None = None) -> dict:
    """The values a member shows publicly, flattened for a renderer that knows nothing of cards."""
    template = card_template_for(card, templates)
    # No template: an empty one locks nothing, and keeps card_public_profile from looking again.
    profile = card_public_profile(card, template or CardTemplate(locked_values={}))
    emails = [e["address"] for e in profile["emails"] if e.get("address")]
    links = [
        {"label": link.get("label", ""), "url": link["url"]}
        for link in profile["links"]
        if str(link.get("url", "")).startswith(_WEB)
    ]
    return {
        "first_name": profile["first_name"],
        "last_name": profile["last_name"],
        "full_name": profile["full_name"],
        "job_title": profile["job_title"],
        "company": profile["company"] or (card.organisation.name if card.organisation_id else ""),
        "department": profile["department"],
        "office": profile["office"],
        "address": _address(profile),
        "website": profile["website"] if profile["website"].startswith(_WEB) else "",
        "phones": [
            {"kind": p.get("kind", "work"), "number": p["number"]}
            for p in profile["phones"]
            if p.get("number")
        ],
        "email": emails[0] if emails else card.owner.email,
        "emails": emails,
        "links": links,
        "card_url": card_url(card),
        "photo_url": _photo_url(card, profile),
        "template": str(template.public_id) if template else None,
        "groups": list(card.groups),
    }


def member_profiles(*, organisation, user_ids=None) -> dict:
    """Receiver of hooks.member_profiles: {user id: profile} of the organisation's published cards.

    A deactivated or unnamed card, or one whose owner restricted processing, is left out: nothing of it
    may be shown to the outside world.
    """
    cards = (
        Card.objects.filter(organisation=organisation, is_active=True)
        .exclude(Q(first_name="") & Q(last_name=""))
        .exclude(_owner_restricted_annotation())
        .select_related("owner", "organisation", "template")
        .defer("photo", "photo_small", "template__logo")
    )
    if user_ids is not None:
        cards = cards.filter(owner_id__in=list(user_ids))
    templates = list(CardTemplate.objects.filter(organisation=organisation).defer("logo"))
    return {card.owner_id: member_profile(card, templates) for card in cards}

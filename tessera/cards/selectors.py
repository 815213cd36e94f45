from datetime import date, timedelta

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery, Sum

from tessera.accounts.models import Membership, Organisation, OrganisationApiKey, User
from tessera.accounts.selectors import organisations_administered

from .fields import PROFILE_ADDRESS, PROFILE_LISTS, PROFILE_TEXTS
from .models import (
    LOCKABLE,
    Card,
    CardDailyStat,
    CardsSettings,
    CardTemplate,
    Lead,
    LeadWebhook,
    WebhookDelivery,
)

# --- restriction of processing (GDPR Art. 18) ----------------------------------------------------------


def restricted_addresses() -> QuerySet:
    """The addresses under an active restriction, as a subquery (the same rule as privacy's limit_active)."""
    from tessera.privacy.models import ProcessingLimit

    return ProcessingLimit.objects.filter(
        kind=ProcessingLimit.Kind.RESTRICTION, lifted_at__isnull=True
    ).values("email")


def restricted_users() -> QuerySet[User]:
    """Accounts with any of their verified addresses under restriction.

    An address someone added without confirming it is not theirs: whoever holds that mailbox must not
    hide their card (the rights portal only proves control of the mailbox).
    """
    addresses = restricted_addresses()
    return User.objects.filter(emailaddress__email__in=addresses, emailaddress__verified=True).values("pk")


def owner_restricted(*, owner_id: int) -> bool:
    """While the card's owner restricted processing, the card is hidden and its data is not used."""
    return User.objects.filter(pk=owner_id, pk__in=restricted_users()).exists()


def _owner_restricted_annotation() -> Exists:
    return Exists(restricted_users().filter(pk=OuterRef("owner_id")))


def template_selecting_fields(*, organisation_id: int | None) -> set[str]:
    """Profile fields that choose a member's template, which only administrators may then change."""
    if organisation_id is None:
        return set()
    departments = CardTemplate.objects.filter(organisation_id=organisation_id).values_list(
        "departments", flat=True
    )
    return {"department"} if any(departments) else set()


def card_template_for(card: Card, templates: list | None = None) -> CardTemplate | None:
    """The explicit template, else one assigned to the card's department, else to a group, else the default.

    `templates`, the organisation's templates read once, spares a query per card when reading many."""
    if card.template_id:
        return card.template
    if card.organisation_id is None:
        return None
    if templates is None:
        templates = list(CardTemplate.objects.filter(organisation_id=card.organisation_id))
    department = card.department.strip().lower()
    if department:
        for template in templates:
            if department in {d.strip().lower() for d in template.departments}:
                return template
    groups = {g.strip().lower() for g in card.groups}
    for template in templates:
        if groups & {g.strip().lower() for g in template.groups}:
            return template
    return next((t for t in templates if t.is_default), None)


def card_locked_values(card: Card, template: CardTemplate | None = None) -> dict:
    template = template if template is not None else card_template_for(card)
    if template is None:
        return {}
    return {k: v for k, v in template.locked_values.items() if k in LOCKABLE}


def card_profile(card: Card, template: CardTemplate | None = None) -> dict:
    """The card's effective values: the brand-locked ones come from the template."""
    template = template if template is not None else card_template_for(card)
    profile = {name: getattr(card, name) for name in PROFILE_TEXTS}
    profile.update({name: list(getattr(card, name)) for name in PROFILE_LISTS})
    profile.update(
        visibility=dict(card.visibility),
        has_photo=bool(card.photo_version),
        template=template,
    )
    profile.update(
        {k: list(v) if isinstance(v, list) else v for k, v in card_locked_values(card, template).items()}
    )
    profile["full_name"] = f"{profile['first_name']} {profile['last_name']}".strip()
    return profile


def card_public_profile(card: Card, template: CardTemplate | None = None) -> dict:
    """Only what the member chose to show on the public page."""
    profile = card_profile(card, template)
    hidden = {k for k, v in profile["visibility"].items() if v == "vcard"}
    for name in hidden:
        if name == "address":
            for part in PROFILE_ADDRESS:
                profile[part] = ""
        elif name == "photo":
            profile["has_photo"] = False
        elif name in profile:
            profile[name] = ""
    for key in PROFILE_LISTS:
        profile[key] = [item for item in profile[key] if item.get("public", True)]
    return profile


# Active and named: a card without a name would show only its random address, so it stays off the web.
_PUBLISHED = Q(is_active=True) & ~Q(first_name="", last_name="")


def card_public_get(slug: str) -> Card | None:
    """An active, named card whose owner has not restricted processing; else None, as for an unknown card."""
    return (
        Card.objects.select_related("template", "organisation")
        .defer("photo", "photo_small", "template__logo")
        .filter(_PUBLISHED, slug=slug)
        .exclude(_owner_restricted_annotation())
        .first()
    )


def card_is_public(slug: str) -> bool:
    return Card.objects.filter(_PUBLISHED, slug=slug).exclude(_owner_restricted_annotation()).exists()


def card_page_version(slug: str) -> tuple[int, str] | None:
    """(card id, a key that changes whenever the page would) of an active card, in one query."""
    templates = (
        CardTemplate.objects.filter(organisation=OuterRef("organisation"))
        .order_by()
        .values("organisation")
        .annotate(latest=Max("updated_at"))
        .values("latest")
    )
    row = (
        Card.objects.filter(_PUBLISHED, slug=slug)
        .exclude(_owner_restricted_annotation())  # a restricted owner's card answers like a deactivated one
        .annotate(templates_version=Subquery(templates))
        .values_list("pk", "updated_at", "templates_version")
        .first()
    )
    if row is None:
        return None
    pk, updated_at, templates_version = row
    return pk, f"{updated_at.timestamp()}-{templates_version.timestamp() if templates_version else 0}"


def _still_member(user) -> Q:
    """Personal cards (or leads), and those of organisations the user still belongs to (not of one they left)."""
    return Q(organisation__isnull=True) | Q(
        organisation__in=Membership.objects.filter(user=user).values("organisation")
    )


def cards_of(*, user) -> QuerySet[Card]:
    return Card.objects.filter(_still_member(user), owner=user).select_related("organisation")


def card_of(*, user, slug: str) -> Card | None:
    return cards_of(user=user).filter(slug=slug).first()


def leads_visible_to(*, user) -> QuerySet[Lead]:
    """The user's own leads, plus those of organisations the user administers and that allow it."""
    if not user.is_authenticated:
        return Lead.objects.none()
    administered = organisations_administered(user=user).filter(cards_settings__admins_see_leads=True)
    own = Q(owner=user) & _still_member(user)
    shared = Q(organisation__in=administered) & _usable()
    return Lead.objects.filter(own | shared).select_related("card")


def _usable() -> Q:
    return ~Q(owner_id__in=restricted_users()) & ~Q(email__in=restricted_addresses())


def leads_usable(queryset: QuerySet[Lead]) -> QuerySet[Lead]:
    """Leads the organisation may use: none of a restricted owner's card, none of a restricted visitor."""
    return queryset.filter(_usable())


def cards_settings_of(*, organisation: Organisation) -> CardsSettings:
    """The organisation's settings, or unsaved defaults: reading a page never writes them."""
    return CardsSettings.objects.filter(organisation=organisation).first() or CardsSettings(
        organisation=organisation
    )


def leads_shared(*, organisation: Organisation | int) -> bool:
    """The organisation chose to let its administrators, its API keys and its webhooks see its members' leads."""
    return CardsSettings.objects.filter(organisation=organisation, admins_see_leads=True).exists()


def webhooks_of(*, organisation: Organisation) -> QuerySet[LeadWebhook]:
    return LeadWebhook.objects.filter(organisation=organisation).order_by("created_at")


def integrations_of(*, organisation: Organisation, deliveries: int = 20) -> dict:
    """What the integrations page lists: the API keys, the webhooks and their latest deliveries."""
    return {
        "keys": OrganisationApiKey.objects.filter(organisation=organisation).order_by("-created_at"),
        "hooks": webhooks_of(organisation=organisation),
        "deliveries": WebhookDelivery.objects.filter(webhook__organisation=organisation)
        .select_related("webhook")
        .order_by("-created_at")[:deliveries],
        "leads_shared": leads_shared(organisation=organisation),
    }


def leads_of_organisation(*, organisation: Organisation) -> QuerySet[Lead]:
    return leads_usable(Lead.objects.filter(organisation=organisation)).select_related("card")


def leads_search(queryset: QuerySet[Lead], *, q: str = "", status: str = "", tag: str = "") -> QuerySet[Lead]:
    if q:
        queryset = queryset.filter(
            Q(name__icontains=q)
            | Q(email__icontains=q)
            | Q(company__icontains=q)
            | Q(notes__icontains=q)
            | Q(message__icontains=q)
        )
    if status:
        queryset = queryset.filter(status=status)
    if tag:
        queryset = [lead for lead in queryset if tag in lead.tags]
    return queryset


def stats_daily(*, cards, days: int = 30, today: date | None = None) -> list[dict]:
    """One row per day (oldest first) summed over `cards`."""
    today = today or date.today()
    start = today - timedelta(days=days - 1)
    rows = (
        CardDailyStat.objects.filter(card__in=cards, day__gte=start, day__lte=today)
        .values("day")
        .annotate(
            nfc=Sum("views_nfc"),
            qr=Sum("views_qr"),
            link=Sum("views_link"),
            direct=Sum("views_direct"),
            saves=Sum("vcard_saves"),
            exchanges=Sum("exchanges"),
        )
    )
    by_day = {row["day"]: row for row in rows}
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        row = by_day.get(day, {})
        series.append(
            {
                "day": day,
                **{k: row.get(k) or 0 for k in ("nfc", "qr", "link", "direct", "saves", "exchanges")},
            }
        )
    for row in series:
        row["views"] = row["nfc"] + row["qr"] + row["link"] + row["direct"]
    return series

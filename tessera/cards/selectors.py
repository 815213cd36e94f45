from datetime import date, timedelta

from django.db.models import Max, OuterRef, Q, QuerySet, Subquery, Sum

from tessera.accounts.models import Membership, Organisation

from .models import LOCKABLE_FIELDS, Card, CardDailyStat, CardTemplate, Lead

PROFILE_SCALARS = (
    "first_name",
    "last_name",
    "job_title",
    "company",
    "department",
    "bio",
    "website",
    "street",
    "postal_code",
    "city",
    "country",
)


def membership_get(*, user, organisation: Organisation) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organisation=organisation).first()


def is_org_admin(*, user, organisation: Organisation | None) -> bool:
    if organisation is None or not user.is_authenticated:
        return False
    return Membership.objects.filter(
        user=user, organisation=organisation, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
    ).exists()


def organisations_administered(*, user) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        memberships__user=user,
        memberships__role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
    ).distinct()


def card_template_for(card: Card) -> CardTemplate | None:
    """The explicit template, else one assigned to the card's department, else to a group, else the default."""
    if card.template_id:
        return card.template
    if card.organisation_id is None:
        return None
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
    return {k: v for k, v in template.locked_values.items() if k in LOCKABLE_FIELDS}


def card_profile(card: Card, template: CardTemplate | None = None) -> dict:
    """The card's effective values: the brand-locked ones come from the template."""
    template = template if template is not None else card_template_for(card)
    profile = {name: getattr(card, name) for name in PROFILE_SCALARS}
    profile.update(card_locked_values(card, template))
    profile.update(
        phones=list(card.phones),
        emails=list(card.emails),
        links=list(card.links),
        custom_fields=list(card.custom_fields),
        visibility=dict(card.visibility),
        full_name=f"{profile['first_name']} {profile['last_name']}".strip(),
        has_photo=bool(card.photo_version),
        template=template,
    )
    return profile


def card_public_profile(card: Card, template: CardTemplate | None = None) -> dict:
    """Only what the member chose to show on the public page."""
    profile = card_profile(card, template)
    hidden = {k for k, v in profile["visibility"].items() if v == "vcard"}
    for name in hidden:
        if name == "address":
            for part in ("street", "postal_code", "city", "country"):
                profile[part] = ""
        elif name == "photo":
            profile["has_photo"] = False
        elif name in profile:
            profile[name] = ""
    for key in ("phones", "emails", "links", "custom_fields"):
        profile[key] = [item for item in profile[key] if item.get("public", True)]
    return profile


def card_public_get(slug: str) -> Card | None:
    return (
        Card.objects.select_related("template", "organisation")
        .defer("photo", "photo_small", "template__logo")
        .filter(slug=slug, is_active=True)
        .first()
    )


def card_is_public(slug: str) -> bool:
    return Card.objects.filter(slug=slug, is_active=True).exists()


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
        Card.objects.filter(slug=slug, is_active=True)
        .annotate(templates_version=Subquery(templates))
        .values_list("pk", "updated_at", "templates_version")
        .first()
    )
    if row is None:
        return None
    pk, updated_at, templates_version = row
    return pk, f"{updated_at.timestamp()}-{templates_version.timestamp() if templates_version else 0}"


def cards_of(*, user) -> QuerySet[Card]:
    return Card.objects.filter(owner=user).select_related("organisation")


def card_of(*, user, slug: str) -> Card | None:
    return cards_of(user=user).filter(slug=slug).first()


def leads_visible_to(*, user) -> QuerySet[Lead]:
    """The user's own leads, plus those of organisations the user administers and that allow it."""
    if not user.is_authenticated:
        return Lead.objects.none()
    administered = organisations_administered(user=user).filter(cards_settings__admins_see_leads=True)
    return Lead.objects.filter(Q(owner=user) | Q(organisation__in=administered)).select_related("card")


def leads_of_organisation(*, organisation: Organisation) -> QuerySet[Lead]:
    return Lead.objects.filter(organisation=organisation).select_related("card")


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

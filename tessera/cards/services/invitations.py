"""Invitations into an organisation with a card, one by one or from a CSV file."""

import csv
import hashlib
import io
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tessera.accounts import services as accounts_services
from tessera.accounts.models import Membership, Organisation, User
from tessera.accounts.selectors import is_member_email, membership_role
from tessera.core.outbox import email_queue_template

from ..models import Card, CardInvitation
from .profiles import account_names, card_create
from .validation import profile_clean


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invitation_url(token: str, language: str) -> str:
    with translation.override(language):
        return settings.TESSERA_BASE_URL + reverse("cards:invitation_accept", args=[token])


@transaction.atomic
def invitation_create(
    *,
    organisation: Organisation,
    email: str,
    invited_by: User,
    first_name: str = "",
    last_name: str = "",
    job_title: str = "",
    department: str = "",
    role: str = Membership.Role.MEMBER,
    language: str = "fr",
) -> CardInvitation:
    """Invite someone into the organisation with a card: accounts' rules decide who may join, as what."""
    email = accounts_services.membership_invitation_check(
        organisation=organisation, email=email, role=role, invited_by=invited_by
    )
    if CardInvitation.objects.filter(
        organisation=organisation, email=email, accepted_at__isnull=True
    ).exists():
        raise ValidationError({"email": [_("%(email)s was already invited.") % {"email": email}]})
    profile = profile_clean(
        {"first_name": first_name, "last_name": last_name, "job_title": job_title, "department": department}
    )
    token = secrets.token_urlsafe(32)
    invitation = CardInvitation.objects.create(
        organisation=organisation,
        email=email,
        role=role,
        token_hash=_token_hash(token),
        invited_by=invited_by,
        **profile,
    )
    email_queue_template(
        to=email,
        template="cards/email/invitation",
        context={
            "organisation": organisation.name,
            "inviter": invited_by.get_full_name(),
            "url": _invitation_url(token, language),
        },
        language=language,
        kind="cards_invitation",
        confidential=True,
    )
    return invitation


def invitation_by_token(token: str) -> CardInvitation | None:
    return (
        CardInvitation.objects.select_related("organisation")
        .filter(token_hash=_token_hash(token), accepted_at__isnull=True)
        .first()
    )


@transaction.atomic
def invitation_accept(
    *,
    invitation: CardInvitation,
    user: User | None = None,
    password: str = "",
    full_name: str = "",
    language: str = "fr",
) -> tuple[User, Card]:
    """Join the organisation; a new account is created when the invited address has none."""
    invitation = CardInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError(_("This invitation was already used."))
    if user is None:
        user = accounts_services.user_create_invited(
            email=invitation.email, password=password, full_name=full_name, language=language
        )
    elif user.email.lower() != invitation.email:
        raise ValidationError(_("This invitation was sent to another address."))
    accounts_services.membership_join(organisation=invitation.organisation, user=user, role=invitation.role)
    card = Card.objects.filter(owner=user, organisation=invitation.organisation).first() or card_create(
        owner=user,
        organisation=invitation.organisation,
        # The names the admin typed, else the account's: a card without a name stays off the public web.
        **(
            {"first_name": invitation.first_name, "last_name": invitation.last_name}
            if invitation.first_name or invitation.last_name
            else account_names(user)
        ),
        job_title=invitation.job_title,
        department=invitation.department,
        company=invitation.organisation.name,
        yield_to_lock=True,
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return user, card


IMPORT_COLUMNS = ("email", "first_name", "last_name", "job_title", "department", "role")
MAX_IMPORT_ROWS = 1000


def _csv_unreadable(reader) -> ValidationError:
    # The csv module refuses some files outright: a field over its 131,072-character limit, for one.
    return ValidationError(_("Line %(line)s of the file is not valid CSV.") % {"line": reader.line_num})


def _csv_rows(reader):
    try:
        yield from reader
    except csv.Error:
        raise _csv_unreadable(reader) from None


def invitations_import_preview(
    *, organisation: Organisation, csv_text: str, invited_by: User | None = None
) -> list[dict]:
    """Validate a CSV row by row without writing anything; every row carries its errors."""
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error:
        raise _csv_unreadable(reader) from None
    if "email" not in header:
        raise ValidationError(_("The file needs a header row with at least an “email” column."))
    unknown = set(header) - set(IMPORT_COLUMNS)
    if unknown:
        raise ValidationError(_("Unknown columns: %(columns)s.") % {"columns": ", ".join(sorted(unknown))})
    rows, seen = [], set()
    importer_role = membership_role(organisation=organisation, user=invited_by)
    for number, raw in enumerate(_csv_rows(reader), start=2):
        if number - 1 > MAX_IMPORT_ROWS:
            raise ValidationError(
                ngettext("At most %(n)s row per import.", "At most %(n)s rows per import.", MAX_IMPORT_ROWS)
                % {"n": MAX_IMPORT_ROWS}
            )
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        values = {c: row.get(c, "") for c in IMPORT_COLUMNS}
        values["email"] = values["email"].lower()
        values["role"] = values["role"] or Membership.Role.MEMBER
        errors = []
        try:
            validate_email(values["email"])
        except ValidationError:
            errors.append(_("“%(value)s” is not a valid email address.") % {"value": values["email"]})
        if values["role"] not in (Membership.Role.MEMBER, Membership.Role.ADMIN):
            errors.append(_("The role must be member or admin."))
        elif values["role"] == Membership.Role.ADMIN and importer_role != Membership.Role.OWNER:
            errors.append(_("Only the owner can invite administrators."))
        try:
            profile_clean({k: values[k] for k in ("first_name", "last_name", "job_title", "department")})
        except ValidationError as error:
            errors += [f"{k}: {m}" for k, ms in error.message_dict.items() for m in ms]
        if values["email"] in seen:
            errors.append(_("This address appears twice in the file."))
        elif is_member_email(organisation=organisation, email=values["email"]):
            errors.append(_("Already a member."))
        elif CardInvitation.objects.filter(
            organisation=organisation, email=values["email"], accepted_at__isnull=True
        ).exists():
            errors.append(_("Already invited."))
        seen.add(values["email"])
        rows.append({"line": number, **values, "errors": errors})
    if not rows:
        raise ValidationError(_("The file has no rows."))
    return rows


@transaction.atomic
def invitations_import(
    *, organisation: Organisation, csv_text: str, invited_by: User, language: str = "fr"
) -> list:
    """Create every invitation of a previewed file, or none when any row is invalid."""
    rows = invitations_import_preview(organisation=organisation, csv_text=csv_text, invited_by=invited_by)
    bad = [row for row in rows if row["errors"]]
    if bad:
        raise ValidationError(
            ngettext(
                "%(n)s row has errors; fix the file and preview it again. Nothing was created.",
                "%(n)s rows have errors; fix the file and preview it again. Nothing was created.",
                len(bad),
            )
            % {"n": len(bad)}
        )
    return [
        invitation_create(
            organisation=organisation,
            invited_by=invited_by,
            language=language,
            **{k: row[k] for k in IMPORT_COLUMNS},
        )
        for row in rows
    ]

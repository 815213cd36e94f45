"""Writes of customer files: opening, contract and plan, contacts, internal notes, and their retention."""

import datetime
import re
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera.core.audit import security_event_record
from tessera.privacy.retention import batched_delete

from .customers import NAME_LIMIT, NOTE_LIMIT, REFERENCE_LIMIT, CustomerContact, CustomerFile, CustomerNote

# Commercial data is kept for the relationship, then 3 years (the CNIL's reference for customer data).
RETENTION = timedelta(days=3 * 365)
EDITABLE = ("plan", "contract_reference", "seats", "contract_start", "renewal_date", "relationship_ended_at")
SEATS_LIMIT = 1_000_000
PHONE = re.compile(r"^\+?[0-9 ().-]{4,32}$")


def _name_of(*, organisation=None, user=None) -> str:
    if organisation is not None:
        return organisation.name[:NAME_LIMIT]
    return (user.full_name or user.email)[:NAME_LIMIT]


@transaction.atomic
def customer_file_open(*, organisation=None, user=None) -> CustomerFile:
    """The file of this organisation or of this individual account holder, created on first opening."""
    if (organisation is None) == (user is None):
        raise ValidationError(_("A customer file is about one organisation or one person."))
    if organisation is not None:
        lookup = {"organisation": organisation}
        snapshot = {"kind": CustomerFile.Kind.ORGANISATION, "name": _name_of(organisation=organisation)}
    else:
        lookup = {"user": user}
        snapshot = {"kind": CustomerFile.Kind.INDIVIDUAL, "name": _name_of(user=user), "email": user.email}
    file, created = CustomerFile.objects.select_for_update().get_or_create(**lookup, defaults=snapshot)
    current = file.relationship_ended_at is None
    if not created and current and any(getattr(file, key) != value for key, value in snapshot.items()):
        # A current customer's name and address follow their organisation's or account's; a former
        # customer's stay as they were (an anonymised account has neither).
        for key, value in snapshot.items():
            setattr(file, key, value)
        file.save(update_fields=[*snapshot, "updated_at"])
    return file


def _date_or_none(errors: dict, key: str, value):
    if value is None or (isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)):
        return value
    errors[key] = [_("Enter a valid date.")]
    return None


def _cleaned_changes(file: CustomerFile, changes: dict) -> dict:
    errors: dict = {}
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(unknown)}
        )
    cleaned = dict(changes)
    if "plan" in changes and changes["plan"] not in CustomerFile.Plan.values:
        errors["plan"] = [_("Choose a valid plan.")]
    if "contract_reference" in changes:
        reference = (changes["contract_reference"] or "").strip()
        if len(reference) > REFERENCE_LIMIT:
            errors["contract_reference"] = [_("The contract reference is too long: at most 64 characters.")]
        cleaned["contract_reference"] = reference
    if "seats" in changes:
        seats = changes["seats"]
        if seats is not None and (isinstance(seats, bool) or not isinstance(seats, int)):
            errors["seats"] = [_("Enter a whole number of seats.")]
        elif seats is not None and not 0 < seats <= SEATS_LIMIT:
            errors["seats"] = [_("The number of seats must be between 1 and 1,000,000, or left empty.")]
    for key in ("contract_start", "renewal_date"):
        if key in changes:
            cleaned[key] = _date_or_none(errors, key, changes[key])
    if "relationship_ended_at" in changes:
        ended = changes["relationship_ended_at"]
        if ended is not None and not isinstance(ended, datetime.datetime):
            errors["relationship_ended_at"] = [_("Enter a valid date.")]
        elif ended is not None and ended > timezone.now():
            errors["relationship_ended_at"] = [_("The relationship cannot end in the future.")]
        elif ended is None and file.organisation_id is None and file.user_id is None:
            errors["relationship_ended_at"] = [
                _("The organisation or account of this file was deleted: the relationship cannot resume.")
            ]
    start = cleaned.get("contract_start", file.contract_start)
    renewal = cleaned.get("renewal_date", file.renewal_date)
    if "renewal_date" not in errors and start and renewal and renewal < start:
        errors["renewal_date"] = [_("The renewal date cannot come before the contract start.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def customer_file_update(*, file: CustomerFile, changes: dict, actor=None, request=None) -> CustomerFile:
    """Change the contract, plan, seats or key dates; the security log names the fields that changed."""
    file = CustomerFile.objects.select_for_update().get(pk=file.pk)
    cleaned = _cleaned_changes(file, changes)
    changed = sorted(key for key, value in cleaned.items() if getattr(file, key) != value)
    if not changed:
        return file
    for key in changed:
        setattr(file, key, cleaned[key])
    file.updated_at = timezone.now()
    file.save(update_fields=[*changed, "updated_at"])
    security_event_record(
        action="support.customer_file.updated",
        actor=actor,
        request=request,
        data={"customer_file": file.pk, "fields": changed},
    )
    return file


@transaction.atomic
def customer_contact_add(
    *, file: CustomerFile, name: str, role: str = "", email: str = "", phone: str = ""
) -> CustomerContact:
    name, role, email, phone = name.strip(), role.strip(), email.strip(), phone.strip()
    errors: dict = {}
    if not name:
        errors["name"] = [_("Give the contact's name.")]
    elif len(name) > 150:
        errors["name"] = [_("The name is too long: at most 150 characters.")]
    if len(role) > 120:
        errors["role"] = [_("The role is too long: at most 120 characters.")]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    if phone and not PHONE.match(phone):
        errors["phone"] = [_("Enter a phone number: digits, spaces and + ( ) . - only.")]
    if errors:
        raise ValidationError(errors)
    contact = CustomerContact.objects.create(file=file, name=name, role=role, email=email, phone=phone)
    CustomerFile.objects.filter(pk=file.pk).update(updated_at=timezone.now())
    return contact


@transaction.atomic
def customer_contact_remove(*, contact: CustomerContact) -> None:
    CustomerFile.objects.filter(pk=contact.file_id).update(updated_at=timezone.now())
    contact.delete()


@transaction.atomic
def customer_note_add(*, file: CustomerFile, author, body: str) -> CustomerNote:
    """An internal note: never shown to the customer, but part of their data if they ask (Art. 15)."""
    if not body.strip():
        raise ValidationError({"body": [_("Write the note.")]})
    if len(body) > NOTE_LIMIT:
        raise ValidationError({"body": [_("The note is too long: at most 5,000 characters.")]})
    return CustomerNote.objects.create(file=file, author=author, body=body)


def customer_file_read_record(*, file: CustomerFile, actor, request=None) -> None:
    """Staff access is logged: who opened which customer's file."""
    security_event_record(
        action="support.customer_file.viewed",
        actor=actor,
        request=request,
        data={"customer_file": file.pk, "kind": file.kind},
    )


def customer_relationship_end(*, organisation=None, user=None, now=None) -> int:
    """The relationship ends with the organisation or the account; the 3 years of retention start."""
    now = now or timezone.now()
    files = CustomerFile.objects.filter(relationship_ended_at__isnull=True)
    files = files.filter(organisation=organisation) if organisation is not None else files.filter(user=user)
    return files.update(relationship_ended_at=now, updated_at=now)


def organisation_deleting(sender, instance, **kwargs) -> None:
    """pre_delete of an organisation: it runs before its file's link is emptied (SET_NULL)."""
    customer_relationship_end(organisation=instance)


def user_deleting(sender, instance, **kwargs) -> None:
    """pre_delete of an account: the individual's relationship ends with it."""
    customer_relationship_end(user=instance)


def customer_files_expired_delete(*, now) -> int:
    """Files whose relationship ended more than 3 years ago go, with their contacts and notes."""
    due = CustomerFile.objects.filter(relationship_ended_at__lt=now - RETENTION)
    return batched_delete(due.order_by())

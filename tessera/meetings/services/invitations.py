"""Writes of an event's invitations: adding, removing, resending, and the guest link."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import links
from ..conf import meetings_setting
from ..models import Event, Invitation
from .emails import cancellation_send, invitation_send
from .validation import (
    LANGUAGES,
    EventNotEditable,
    editable_check,
    email_validate,
    invitation_quota_check,
    secret_check,
)


def invitations_create(event: Event, emails: list[str], *, now, languages=None) -> list[Invitation]:
    start = (event.invitations.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    languages = languages or {}
    invitations = []
    for offset, email in enumerate(emails):
        invitation = Invitation(
            event=event,
            email=email,
            position=start + offset,
            created_at=now,
            # Stored only when it differs from the event's, so a change of the event's language follows.
            language="" if languages.get(email, "") == event.language else languages.get(email, ""),
        )
        invitation.token_hash = links.token_digest(links.invite_token(invitation.public_id))
        invitations.append(invitation)
    return Invitation.objects.bulk_create(invitations)


# --- invitations ------------------------------------------------------------------------------------


@transaction.atomic
def invitation_add(
    *, event: Event, email: str, room_secret: str = "", language: str = "", now=None
) -> Invitation:
    """Invite one more address. The room secret is needed only when the event's links carry it."""
    now = now or timezone.now()
    editable_check(event, now)
    if event.instant:
        # Nobody's address is known to sign the invitation: an instant meeting shares its guest link.
        raise ValidationError({"email": [_("An instant meeting has no invitees: share its guest link.")]})
    secret_check(event, room_secret)
    email = email_validate(email, field="email")
    if language and language not in LANGUAGES:
        raise ValidationError({"language": [_("Choose French or English.")]})
    active = event.invitations.filter(kind=Invitation.Kind.INVITEE, revoked_at__isnull=True)
    if active.filter(email=email).exists():
        raise ValidationError({"email": [_("This address is already invited.")]})
    if active.count() >= meetings_setting("max_invitees"):
        raise ValidationError(
            {"email": [_("At most %(limit)s invitees.") % {"limit": meetings_setting("max_invitees")}]}
        )
    invitation_quota_check(organisation_id=event.organisation_id, adding=1, now=now)
    try:
        with transaction.atomic():
            (invitation,) = invitations_create(event, [email], now=now, languages={email: language})
    except IntegrityError:
        raise ValidationError({"email": [_("This address is already invited.")]}) from None
    if event.status == Event.Status.SCHEDULED:
        cancelled_before = event.invitations.filter(
            email=email, revoked_at__isnull=False, sent_sequence__gte=event.sequence
        )
        if cancelled_before.exists():
            # Their calendar holds our CANCEL: only a higher SEQUENCE brings the event back.
            _sequence_next(event, now)
        invitation_send(event, invitation, room_secret, update=False)
        invitation.save(update_fields=["sent_sequence"])
    return invitation


@transaction.atomic
def invitation_remove(*, event: Event, invitation: Invitation, now=None) -> bool:
    """Revoke the person's link at once; if they were invited already, their calendar entry is cancelled."""
    now = now or timezone.now()
    claimed = Invitation.objects.filter(pk=invitation.pk, event=event, revoked_at__isnull=True).update(
        revoked_at=now
    )
    if not claimed:
        return False
    invitation.refresh_from_db()
    if (
        invitation.kind == Invitation.Kind.INVITEE
        and invitation.sent_sequence >= 0
        and event.status == Event.Status.SCHEDULED
        and event.ends_at > now
    ):
        # Calendar apps ignore a CANCEL whose SEQUENCE does not exceed the one they hold.
        _sequence_next(event, now)
        cancellation_send(event, invitation, template="removed")
        invitation.sent_sequence = event.sequence
        invitation.save(update_fields=["sent_sequence"])
    return True


def _sequence_next(event: Event, now) -> None:
    Event.objects.filter(pk=event.pk).update(sequence=F("sequence") + 1, updated_at=now)
    event.refresh_from_db(fields=["sequence", "updated_at"])


@transaction.atomic
def invitation_resend(*, event: Event, invitation: Invitation, room_secret: str = "", now=None) -> None:
    editable_check(event, now)
    secret_check(event, room_secret)
    if event.status != Event.Status.SCHEDULED or not invitation.is_active or not invitation.email:
        raise EventNotEditable
    # The invitation as it stands now: the sequence may have moved for reasons other than new details.
    invitation_send(event, invitation, room_secret, update=False)
    invitation.save(update_fields=["sent_sequence"])


@transaction.atomic
def guest_link_create(*, event: Event, room_secret: str = "", now=None) -> Invitation:
    """A link for people without an invitation: its holders wait in the lobby until admitted.

    Its URL is built by the management page's script, which adds the room secret when links carry it.
    """
    now = now or timezone.now()
    editable_check(event, now)
    secret_check(event, room_secret)
    invitation = Invitation(event=event, kind=Invitation.Kind.GUEST, created_at=now, position=0)
    invitation.token_hash = links.token_digest(links.invite_token(invitation.public_id))
    invitation.save()
    return invitation

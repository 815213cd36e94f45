"""Writes of testimonials: submission with its consent, staff review, the author's answers, retention."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tessera.accounts.selectors import is_org_admin
from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template
from tessera.privacy.models import ConsentRecord
from tessera.privacy.retention import batched_delete
from tessera.privacy.services.consent import consent_record, consent_unsubscribe

from .testimonial_photos import photo_version
from .testimonials import (
    COMPANY_LIMIT,
    MESSAGE_LIMIT,
    NAME_LIMIT,
    ROLE_LIMIT,
    TEXT_LIMIT,
    TEXT_MIN,
    Testimonial,
)

# Rejected and withdrawn testimonials: kept 30 days after the decision (a question, a change of mind).
ENDED_RETENTION = timedelta(days=30)
CONSENT_PURPOSE = ConsentRecord.Purpose.TESTIMONIAL
CONSENT_VERSION = "testimonial-1"
CONSENT_TEXT = gettext_lazy(
    "I agree that Tessera publishes this testimonial, with the name, role, company and photo I gave, on "
    "its website. I can withdraw it at any time from my personal space: it then disappears at once."
)


class TestimonialError(Exception):
    """A step the testimonial's state does not allow (approving a withdrawn one): nothing is stored."""


def _author_url(testimonial: Testimonial) -> str:
    with translation.override(testimonial.language):
        return settings.TESSERA_BASE_URL + reverse(
            "support:testimonial", kwargs={"public_id": testimonial.public_id}
        )


def _tell_author(testimonial: Testimonial, what: str) -> None:
    email_queue_template(
        to=testimonial.author.email,
        template=f"support/testimonials/email/{what}",
        context={"testimonial": testimonial, "url": _author_url(testimonial)},
        language=testimonial.language,
        kind=f"testimonial_{what}",
    )


def _text_errors(text: str, field: str = "text") -> dict:
    length = len(text.strip())
    if length < TEXT_MIN:
        return {field: [_("Write at least %(min)d characters.") % {"min": TEXT_MIN}]}
    if len(text) > TEXT_LIMIT:
        return {field: [_("The text is too long: at most %(max)d characters.") % {"max": TEXT_LIMIT}]}
    if "\x00" in text:
        return {field: [_("This field contains a forbidden character.")]}
    return {}


def _locked(testimonial: Testimonial, *allowed) -> Testimonial:
    locked = Testimonial.objects.select_for_update().select_related("author").get(pk=testimonial.pk)
    if locked.status not in allowed:
        raise TestimonialError(
            _("This testimonial is “%(status)s”: that is no longer possible.")
            % {"status": locked.get_status_display()}
        )
    return locked


@transaction.atomic
def testimonial_submit(
    *,
    author,
    text: str,
    name: str,
    role: str,
    company: str,
    photo: bytes,
    consent_given: bool,
    language: str,
    organisation=None,
) -> Testimonial:
    """A signed-in customer submits a testimonial; its publication consent goes into the ledger.

    `photo` is already cleaned (testimonial_photos.photo_clean). An organisation is named only by one
    of its admins, speaking for it.
    """
    errors = _text_errors(text)
    if not name.strip():
        errors["name"] = [_("Give the name to show with your testimonial.")]
    for field, value, limit in (("name", name, NAME_LIMIT), ("role", role, ROLE_LIMIT)):
        if len(value) > limit:
            errors[field] = [_("At most %(max)d characters.") % {"max": limit}]
    if len(company) > COMPANY_LIMIT:
        errors["company"] = [_("At most %(max)d characters.") % {"max": COMPANY_LIMIT}]
    if organisation is not None and not is_org_admin(user=author, organisation=organisation):
        errors["speak_for"] = [_("Only an admin of this organisation can speak for it.")]
    if not consent_given:
        errors["consent"] = [_("Without your consent to its publication, we cannot publish a testimonial.")]
    if errors:
        raise ValidationError(errors)
    testimonial = Testimonial(
        author=author,
        organisation=organisation,
        language=language,
        text=text.strip(),
        name=name.strip(),
        role=role.strip(),
        company=company.strip(),
        photo=photo,
        photo_version=photo_version(photo),
    )
    with translation.override(language):
        testimonial.consent = consent_record(
            email=author.email,
            purpose=CONSENT_PURPOSE,
            text=str(CONSENT_TEXT),
            text_version=CONSENT_VERSION,
            method=ConsentRecord.Method.CHECKBOX,
            context=f"testimonial:{testimonial.public_id}",
            user=author,
            language=language,
        )
    testimonial.save()
    return testimonial


@transaction.atomic
def testimonial_approve(*, testimonial: Testimonial, actor, request=None) -> Testimonial:
    """Staff publish a submitted testimonial as it stands; the author is told."""
    testimonial = _locked(testimonial, Testimonial.Status.SUBMITTED)
    testimonial.status = Testimonial.Status.PUBLISHED
    testimonial.published_at = timezone.now()
    testimonial.reviewer = actor
    testimonial.staff_message = ""
    testimonial.save(update_fields=["status", "published_at", "reviewer", "staff_message"])
    _tell_author(testimonial, "published")
    security_event_record(
        action="support.testimonial.approved",
        actor=actor,
        request=request,
        data={"testimonial": testimonial.pk},
    )
    return testimonial


@transaction.atomic
def testimonial_reject(*, testimonial: Testimonial, actor, reason: str, request=None) -> Testimonial:
    """Staff refuse a testimonial, or take a published one down, with a reason the author reads."""
    if not reason.strip():
        raise ValidationError({"reason": [_("Tell the author why.")]})
    if len(reason) > MESSAGE_LIMIT:
        raise ValidationError({"reason": [_("At most %(max)d characters.") % {"max": MESSAGE_LIMIT}]})
    testimonial = _locked(testimonial, *Testimonial.LIVE)
    testimonial.status = Testimonial.Status.REJECTED
    testimonial.ended_at = timezone.now()
    testimonial.published_at = None
    testimonial.reviewer = actor
    testimonial.staff_message = reason.strip()
    testimonial.proposed_text = ""
    testimonial.save(
        update_fields=["status", "ended_at", "published_at", "reviewer", "staff_message", "proposed_text"]
    )
    _tell_author(testimonial, "rejected")
    security_event_record(
        action="support.testimonial.rejected",
        actor=actor,
        request=request,
        data={"testimonial": testimonial.pk},
    )
    return testimonial


@transaction.atomic
def testimonial_propose(
    *, testimonial: Testimonial, actor, text: str, message: str = "", request=None
) -> Testimonial:
    """Staff propose an edited text; nothing is published until the author accepts it."""
    errors = _text_errors(text)
    if len(message) > MESSAGE_LIMIT:
        errors["message"] = [_("At most %(max)d characters.") % {"max": MESSAGE_LIMIT}]
    if errors:
        raise ValidationError(errors)
    testimonial = _locked(testimonial, Testimonial.Status.SUBMITTED, Testimonial.Status.PROPOSED)
    if text.strip() == testimonial.text:
        raise ValidationError({"text": [_("The proposed text is the same as the author's.")]})
    testimonial.status = Testimonial.Status.PROPOSED
    testimonial.proposed_text = text.strip()
    testimonial.staff_message = message.strip()
    testimonial.reviewer = actor
    testimonial.save(update_fields=["status", "proposed_text", "staff_message", "reviewer"])
    _tell_author(testimonial, "proposed")
    security_event_record(
        action="support.testimonial.edit_proposed",
        actor=actor,
        request=request,
        data={"testimonial": testimonial.pk},
    )
    return testimonial


@transaction.atomic
def testimonial_proposal_answer(*, testimonial: Testimonial, author, accept: bool) -> Testimonial:
    """The author accepts staff's edit (it is published as edited) or refuses it (back to review)."""
    if testimonial.author_id != author.pk:
        raise TestimonialError(_("This testimonial is not yours."))
    testimonial = _locked(testimonial, Testimonial.Status.PROPOSED)
    if accept:
        testimonial.text = testimonial.proposed_text
        testimonial.status = Testimonial.Status.PUBLISHED
        testimonial.published_at = timezone.now()
    else:
        testimonial.status = Testimonial.Status.SUBMITTED
    testimonial.proposed_text = ""
    testimonial.save(update_fields=["text", "status", "published_at", "proposed_text"])
    return testimonial


@transaction.atomic
def testimonial_withdraw(*, testimonial: Testimonial, author) -> Testimonial:
    """The author withdraws their testimonial, whatever its state: off the site at once, consent withdrawn."""
    if testimonial.author_id != author.pk:
        raise TestimonialError(_("This testimonial is not yours."))
    testimonial = _locked(testimonial, *Testimonial.LIVE)
    testimonial.status = Testimonial.Status.WITHDRAWN
    testimonial.ended_at = timezone.now()
    testimonial.published_at = None
    testimonial.proposed_text = ""
    testimonial.save(update_fields=["status", "ended_at", "published_at", "proposed_text"])
    if testimonial.consent_id:
        # This testimonial's consent only: another one of the same person may stay published.
        consent_unsubscribe(consent=testimonial.consent, method="testimonial_withdrawn")
    return testimonial


def testimonial_read_record(*, testimonial: Testimonial, actor, request=None, photo: bool = False) -> None:
    """Staff access is logged: who opened which testimonial, or its photo."""
    data = {"testimonial": testimonial.pk}
    if photo:
        data["photo"] = True
    security_event_record(action="support.testimonial.viewed", actor=actor, request=request, data=data)


def testimonials_expired_delete(*, now) -> int:
    """Rejected and withdrawn testimonials go 30 days after the decision, photo included.

    So do those whose publication consent was withdrawn through the privacy portal 30 days ago.
    """
    cutoff = now - ENDED_RETENTION
    due = Testimonial.objects.filter(
        Q(status__in=Testimonial.ENDED, ended_at__lt=cutoff) | Q(consent__withdrawn_at__lt=cutoff)
    )
    return batched_delete(due.order_by())


def testimonials_of_users_delete(*, user_ids) -> int:
    """The relationship ended (account erased or anonymised): the person's testimonials go at once."""
    if not user_ids:
        return 0
    return batched_delete(Testimonial.objects.filter(author_id__in=user_ids).order_by())

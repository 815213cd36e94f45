"""Processing activity of testimonials (cards seed policy, section 3e); support/privacy.py registers it."""

from django.utils.translation import gettext_lazy as _

from tessera.privacy.register import (
    STAFF,
    TLS,
    Activity,
    ErasureOutcome,
    ExportFile,
    ExportSection,
    LegalBasis,
    Retention,
)

from . import testimonial_services as services
from .testimonials import Testimonial

ACTIVITY = "support.testimonials"


def _retention(*, now) -> int:
    return services.testimonials_expired_delete(now=now)


activity = Activity(
    name=ACTIVITY,
    service=_("Contact and support"),
    title=_("Customer testimonials"),
    purpose=_(
        "Review the testimonials customers write from their personal space and, with their consent, publish "
        "them on our home page and product pages."
    ),
    legal_basis=LegalBasis.CONSENT,
    legal_basis_detail=_(
        "The author's consent to publication, given by ticking a box and kept in the consent ledger with "
        "the exact text shown. Withdrawing the testimonial withdraws the consent."
    ),
    data_subjects=(_("Customers who write a testimonial"), _("Staff who review it")),
    data_categories=(
        _("Text of the testimonial, and the name, role and company to show with it"),
        _("Photo, if one is given, re-encoded without its metadata"),
        _("Review: edits proposed by staff, the reason of a refusal, and who reviewed it"),
        _("Account, language, and dates of submission, publication, refusal or withdrawal"),
    ),
    fields={
        "support.Testimonial": [
            "author",
            "language",
            "text",
            "name",
            "role",
            "company",
            "photo",
            "photo_version",
            "proposed_text",
            "staff_message",
            "reviewer",
            "created_at",
            "published_at",
            "ended_at",
        ],
    },
    recipients=(STAFF, _("Visitors of our website, once published")),
    retention=Retention(
        description=_(
            "A rejected or withdrawn testimonial is deleted 30 days after that decision, photo included. A "
            "published one is kept while it is published and the customer relationship lasts. The "
            "relationship ends when the author's account ends (deleted on request, or deleted or anonymised "
            "after 24 months without activity): the testimonial is then deleted at once, with the account, "
            "rather than kept the 3 years the policy would allow, since nobody could withdraw it any more."
        ),
        period=services.ENDED_RETENTION,
        apply=_retention,
    ),
    security_measures=(
        TLS,
        _("Nothing is published without the author's consent and a review by staff"),
        _(
            "Photos are accepted by their content (JPEG, PNG, WebP) and re-encoded, dropping location and camera data"
        ),
        _(
            "Photos are served from our own address: the site loads nothing from anyone else and sets no cookie"
        ),
        _("Every opening of a testimonial by staff is written to the security log"),
    ),
)

non_personal = {"support.Testimonial": ["public_id", "status"]}


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _testimonials(subject):
    return (
        Testimonial.objects.filter(author_id__in=subject.user_ids)
        if subject.user_ids
        else Testimonial.objects.none()
    )


def export_subject(subject) -> list[ExportSection]:
    """The person's testimonials, with staff's proposals and reasons, and their photos (Art. 15)."""
    rows, files = [], []
    for t in _testimonials(subject).order_by("created_at"):
        photo = ""
        if t.photo:
            photo = f"testimonials/{t.public_id}.jpg"
            files.append(ExportFile(name=photo, content=bytes(t.photo), content_type="image/jpeg"))
        rows.append(
            {
                "reference": t.public_id,
                "text": t.text,
                "name": t.name,
                "role": t.role,
                "company": t.company,
                "language": t.language,
                "status": t.status,
                "proposed_text": t.proposed_text,
                "message_from_staff": t.staff_message,
                "created_at": _iso(t.created_at),
                "published_at": _iso(t.published_at),
                "ended_at": _iso(t.ended_at),
                "photo": photo,
            }
        )
    return [ExportSection(activity=ACTIVITY, category="testimonials", rows=rows, files=files)]


def erase_subject(subject) -> ErasureOutcome:
    """The person's testimonials go, published or not; staff's names leave the ones they reviewed."""
    erased = services.testimonials_of_users_delete(user_ids=subject.user_ids)
    if subject.user_ids:
        erased += Testimonial.objects.filter(reviewer_id__in=subject.user_ids).update(reviewer=None)
    return ErasureOutcome(activity=ACTIVITY, erased=erased)


def inactivity_anonymise(*, user) -> None:
    """Hook of the accounts' anonymisation: the relationship ended, the person's testimonials go."""
    services.testimonials_of_users_delete(user_ids=[user.pk])

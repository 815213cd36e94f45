"""Reads of the privacy core."""

from django.contrib.auth import get_user_model

from .models import ConsentRecord, PostMortemDirective, ProcessingLimit
from .subjects import subject_digest, subject_export, subject_resolve


def consent_active(*, email: str, purpose: str) -> bool:
    return ConsentRecord.objects.filter(
        subject_digest=subject_digest(email), purpose=purpose, answer=True, withdrawn_at__isnull=True
    ).exists()


def limit_active(*, email: str, kinds) -> bool:
    return ProcessingLimit.objects.filter(
        email=email.strip().lower(), kind__in=kinds, lifted_at__isnull=True
    ).exists()


def directives_naming(email: str):
    """Directives in force that name this address as the person to act after the author's death."""
    return PostMortemDirective.objects.filter(
        trusted_person_email=email.strip().lower(), revoked_at__isnull=True
    )


def rights_portal_state(*, email: str) -> dict:
    """What the rights portal (or the account's rights page) shows about an address."""
    subject = subject_resolve(email)
    user = None
    if subject.user_ids:
        user = get_user_model().objects.filter(pk=subject.user_ids[0]).only("full_name").first()
    return {
        "summary": [(s.category, len(s.rows)) for s in subject_export(subject) if s.rows],
        "restricted": limit_active(email=email, kinds=[ProcessingLimit.Kind.RESTRICTION]),
        "marketing": consent_active(email=email, purpose=ConsentRecord.Purpose.MARKETING),
        "directive": PostMortemDirective.objects.filter(email=email, revoked_at__isnull=True).first(),
        "has_account": user is not None,
        "full_name": user.full_name if user else "",
        "named_in_directives": directives_naming(email).exists(),
    }

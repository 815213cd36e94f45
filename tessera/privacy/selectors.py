"""Reads of the privacy core for its pages."""

from django.contrib.auth import get_user_model

from .models import ConsentRecord, PostMortemDirective, ProcessingLimit
from .services import consent_active, directives_naming, limit_active, subject_export, subject_resolve


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

"""The register's entry for the proof of acceptance of the terms of use (loaded by tessera/privacy/privacy.py)."""

from datetime import timedelta

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..models import TermsAcceptance
from ..register import Activity, ErasureOutcome, ExportSection, LegalBasis, Retention
from ..retention import batched_delete

# Civil and commercial claims are barred after 5 years (Code civil art. 2224, Code de commerce L110-4).
LIMITATION = timedelta(days=5 * 365)


def _terms_retention(*, now) -> int:
    # An account's acceptances live with it; without an account (deleted, or an organiser who has
    # none) the proof goes once a claim about it is barred.
    return batched_delete(
        TermsAcceptance.objects.filter(user__isnull=True, accepted_at__lt=now - LIMITATION).order_by()
    )


TERMS_ACCEPTANCE = Activity(
    name="privacy.terms_acceptance",
    service=_("All services"),
    title=_("Acceptance of the terms of use"),
    purpose=_(
        "Prove which version of the terms of use a person accepted, and when: at sign-up, and when an "
        "organiser creates a meeting."
    ),
    legal_basis=LegalBasis.CONTRACT,
    legal_basis_detail=_("The terms of use are the contract under which the service is provided."),
    data_subjects=(_("Account holders"), _("Organisers of meetings")),
    data_categories=(_("Email address"), _("Version accepted, date, and where it was accepted")),
    fields={"privacy.TermsAcceptance": ["user", "email", "accepted_at", "context"]},
    recipients=(_("Our staff in charge of the contract"),),
    sub_processors=("hosting",),
    retention=Retention(
        description=_(
            "Kept while the account exists. Without an account (after its deletion, or for an organiser "
            "who has none), deleted 5 years after the acceptance: the limitation period of a claim about "
            "the contract."
        ),
        period=LIMITATION,
        apply=_terms_retention,
    ),
    security_measures=(_("Written once, never edited; reachable only by authorised staff"),),
)


def _acceptances(subject):
    # The subject's accounts (verified addresses only) and the address they proved: an organiser has no account.
    return TermsAcceptance.objects.filter(Q(user_id__in=subject.user_ids) | Q(email=subject.email))


def terms_export(subject) -> ExportSection:
    """The versions of the terms the subject accepted, in one query."""
    rows = [
        {
            "version": a.version.number,
            "email": a.email,
            "where": a.context,
            "accepted": a.accepted_at.isoformat(),
        }
        for a in _acceptances(subject).select_related("version").order_by("accepted_at")
    ]
    return ExportSection(
        activity=TERMS_ACCEPTANCE.name,
        category="terms_acceptances",
        rows=rows,
        columns={
            "version": _("Version of the terms of use you accepted"),
            "email": _("The address given when accepting"),
            "where": _("Where they were accepted: at sign-up or when creating a meeting"),
            "accepted": _("When they were accepted"),
        },
    )


def terms_erase(subject) -> ErasureOutcome:
    """Keep the proofs: erasure deletes the accounts first, so they fall under the 5-year rule above."""
    return ErasureOutcome(
        activity=TERMS_ACCEPTANCE.name,
        kept=_acceptances(subject).count(),
        reason_kept=_(
            "The proof of which terms of use you accepted, and when, is kept to establish or defend a claim "
            "about the contract (GDPR Art. 17(3)(e))."
        ),
        kept_until=_("5 years after each acceptance"),
    )

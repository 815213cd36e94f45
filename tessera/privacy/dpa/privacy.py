"""The register's entry for the proof of acceptance of the data processing agreement (loaded by
tessera/privacy/privacy.py)."""

from datetime import timedelta

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..models import DpaAcceptance
from ..register import STAFF, TLS, Activity, ErasureOutcome, ExportSection, LegalBasis, Retention
from ..retention import batched_delete, batched_update

# Civil and commercial claims are barred after 5 years (Code civil art. 2224, Code de commerce L110-4).
LIMITATION = timedelta(days=5 * 365)


def _dpa_retention(*, now) -> int:
    # The proof lives as long as the organisation; once it is gone, 5 years from the first run that saw it so.
    count = batched_update(
        DpaAcceptance.objects.filter(organisation__isnull=True, relationship_ended_at__isnull=True),
        values={"relationship_ended_at": now},
    )
    count += batched_delete(
        DpaAcceptance.objects.filter(
            organisation__isnull=True, relationship_ended_at__lt=now - LIMITATION
        ).order_by()
    )
    return count


DPA_ACCEPTANCE = Activity(
    name="privacy.dpa_acceptance",
    service=_("Cards"),
    title=_("Acceptance of the data processing agreement"),
    purpose=_(
        "Prove which version of the data processing agreement an organisation accepted, when, and which of its "
        "administrators accepted it on its behalf."
    ),
    legal_basis=LegalBasis.LEGAL_OBLIGATION,
    legal_basis_detail=_(
        "GDPR Art. 28(3) and 28(9): processing done on a customer's behalf is governed by a contract in writing, "
        "which may be in electronic form; this record is that writing."
    ),
    data_subjects=(_("Administrators of customer organisations who accept the agreement"),),
    data_categories=(
        _("Email address, and the name and role typed when accepting"),
        _("Organisation, version accepted and date"),
    ),
    fields={"privacy.DpaAcceptance": ["accepted_by", "accepted_by_email", "accepted_name", "accepted_role"]},
    recipients=(_("Administrators of the organisation"), _("Our staff in charge of the contract"), STAFF),
    sub_processors=("hosting",),
    retention=Retention(
        description=_(
            "Kept while the organisation is our customer, then deleted 5 years after it left: the limitation "
            "period of a claim about the agreement."
        ),
        period=LIMITATION,
        apply=_dpa_retention,
    ),
    security_measures=(TLS, _("Written once, never edited; in the security log when accepted")),
)


def _acceptances(subject):
    return DpaAcceptance.objects.filter(
        Q(accepted_by_id__in=subject.user_ids) | Q(accepted_by_email=subject.email)
    )


def dpa_export(subject) -> ExportSection:
    """The agreements the subject accepted on an organisation's behalf, in one query."""
    rows = [
        {
            "organisation": a.organisation_name,
            "version": a.version.number,
            "email": a.accepted_by_email,
            "name": a.accepted_name,
            "role": a.accepted_role,
            "accepted": a.accepted_at.isoformat(),
        }
        for a in _acceptances(subject).select_related("version").order_by("accepted_at")
    ]
    return ExportSection(
        activity=DPA_ACCEPTANCE.name,
        category="dpa_acceptances",
        rows=rows,
        columns={
            "organisation": _("The organisation on whose behalf you accepted the data processing agreement"),
            "version": _("Version of the agreement you accepted"),
            "email": _("Your address when accepting"),
            "name": _("The name you typed"),
            "role": _("The role you typed"),
            "accepted": _("When you accepted it"),
        },
    )


def dpa_erase(subject) -> ErasureOutcome:
    """Keep the proofs: they are the organisation's contract, and outlive the account (accepted_by is set null)."""
    return ErasureOutcome(
        activity=DPA_ACCEPTANCE.name,
        kept=_acceptances(subject).count(),
        reason_kept=_(
            "The proof that you accepted the data processing agreement on your organisation's behalf is the "
            "written contract the law requires (GDPR Art. 28(9)), and is kept to establish or defend a claim "
            "about it (GDPR Art. 17(3)(b) and (e))."
        ),
        kept_until=_("while the organisation is our customer, then 5 years"),
    )

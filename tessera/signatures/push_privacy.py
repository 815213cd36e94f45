"""Processing activity of pushes to Gmail: who was pushed, with what result; what Gmail last got, as a digest.

privacy.py adds these to the app's register; the signature itself is never stored, only its SHA-256.
"""

from datetime import timedelta

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Membership
from tessera.privacy.register import (
    STAFF,
    TLS,
    Activity,
    ErasureOutcome,
    ExportSection,
    LegalBasis,
    Retention,
)
from tessera.privacy.retention import batched_delete

from .push_models import PushedSignature, PushItem, PushRun

RUN_RETENTION = timedelta(days=90)


def _expire(*, now) -> int:
    """Runs (and their per-member results) after 90 days; what Gmail got, once the member left."""
    old = PushRun.objects.filter(created_at__lt=now - RUN_RETENTION, finished_at__isnull=False)
    count = batched_delete(PushItem.objects.filter(run__in=old).order_by()) + batched_delete(old.order_by())
    members = set(Membership.objects.values_list("organisation_id", "user_id"))
    gone = [
        pk
        for pk, org, user in PushedSignature.objects.values_list("pk", "organisation_id", "user_id")
        if (org, user) not in members
    ]
    if gone:
        count += batched_delete(PushedSignature.objects.filter(pk__in=gone).order_by())
    return count


push_activity = Activity(
    name="signatures.gmail_push",
    service=_("Email signatures"),
    title=_("Pushing the email signatures of members to Gmail"),
    purpose=_(
        "Set each member's Gmail signature, on their organisation's instruction, with users.settings.sendAs.patch "
        "only, and set it again when their card changes; show the administrator each member's result."
    ),
    legal_basis=LegalBasis.CONTRACT,
    legal_basis_detail=_("Needed to provide the email signatures the company subscribed to."),
    processor_for=_("the member's organisation"),
    data_subjects=(_("Members of customer organisations"), _("Administrators who push signatures")),
    data_categories=(
        _(
            "Who was pushed, when, by whom, and the result (updated, unchanged, skipped or failed, with the reason)"
        ),
        _("A digest of the last signature sent (never the signature itself)"),
    ),
    fields={
        "signatures.PushRun": ["actor", "label", "message"],
        "signatures.PushItem": ["user", "reason"],
        "signatures.PushedSignature": ["user", "digest", "pushed_by"],
    },
    recipients=(
        _("Google (Gmail), the organisation's own email provider: the signature only"),
        _("Administrators of the member's organisation"),
        STAFF,
    ),
    retention=Retention(
        description=_(
            "Pushes and their results: 90 days. The digest of the last signature sent: while the person is a "
            "member of the organisation."
        ),
        period=RUN_RETENTION,
        apply=_expire,
    ),
    security_measures=(
        TLS,
        _(
            "Only users.settings.sendAs.patch may be called on Gmail; any other call is refused before it leaves"
        ),
        _("Each push is in the security log by member and result, without the token or the signature"),
        _("The Google Workspace administrator is checked again with Google before each push"),
    ),
)

push_non_personal = {
    "signatures.PushRun": ["kind", "status", "claim"],
    "signatures.PushItem": ["status"],
}


def push_export(subject) -> list[ExportSection]:
    items = PushItem.objects.filter(user_id__in=subject.user_ids).select_related("run__organisation")
    rows = [
        {
            "organisation": item.run.organisation.name,
            "requested": item.run.created_at.isoformat(),
            "result": item.status,
            "reason": item.reason,
            "finished": item.finished_at.isoformat() if item.finished_at else "",
        }
        for item in items
    ]
    return [ExportSection(activity="signatures.gmail_push", category="signature_pushes", rows=rows)]


@transaction.atomic
def push_erase(subject) -> list[ErasureOutcome]:
    erased = PushItem.objects.filter(user_id__in=subject.user_ids).delete()[0]
    erased += PushedSignature.objects.filter(user_id__in=subject.user_ids).delete()[0]
    PushedSignature.objects.filter(pushed_by_id__in=subject.user_ids).update(pushed_by=None)
    erased += PushRun.objects.filter(actor_id__in=subject.user_ids).update(actor=None, label="")
    return [ErasureOutcome(activity="signatures.gmail_push", erased=erased)]

"""Reads of pushes to Gmail: recent runs, one run's progress (the page polls it) and its per-member results."""

from django.db.models import Count
from django.utils.translation import ngettext

from tessera.accounts import hooks
from tessera.accounts.models import Membership, Organisation

from .models import PushItem, PushRun

DONE = (
    PushItem.Status.UPDATED,
    PushItem.Status.UNCHANGED,
    PushItem.Status.SKIPPED,
    PushItem.Status.FAILED,
    PushItem.Status.CANCELLED,
)


def push_runs(*, organisation: Organisation, limit: int = 10) -> list[PushRun]:
    return list(PushRun.objects.filter(organisation=organisation).select_related("actor")[:limit])


def push_run_get(*, organisation: Organisation, pk: int) -> PushRun | None:
    return PushRun.objects.filter(organisation=organisation, pk=pk).select_related("actor").first()


def push_counts(*, run: PushRun) -> dict:
    counts = {status: 0 for status in PushItem.Status.values}
    for row in run.items.values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


def push_progress(*, run: PushRun) -> dict:
    """What the progress bar shows; JSON as it is (the page polls it while the run is active)."""
    run.refresh_from_db(fields=["status", "message", "finished_at", "cancel_requested"])
    counts = push_counts(run=run)
    total = sum(counts.values())
    done = sum(counts[s] for s in DONE)
    figures = ngettext(
        "%(done)d of %(total)d member: %(updated)d updated, %(unchanged)d unchanged, %(skipped)d skipped, "
        "%(failed)d failed",
        "%(done)d of %(total)d members: %(updated)d updated, %(unchanged)d unchanged, %(skipped)d skipped, "
        "%(failed)d failed",
        total,
    ) % {
        "done": done,
        "total": total,
        "updated": counts[PushItem.Status.UPDATED],
        "unchanged": counts[PushItem.Status.UNCHANGED],
        "skipped": counts[PushItem.Status.SKIPPED],
        "failed": counts[PushItem.Status.FAILED],
    }
    return {
        "run": run.pk,
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "active": not run.is_finished,
        "cancelling": run.cancel_requested and not run.is_finished,
        "total": total,
        "done": done,
        "percent": round(100 * done / total) if total else 100,
        "counts": counts,
        "figures": figures,
        "message": run.message,
    }


def push_results(*, run: PushRun) -> list[dict]:
    """Each member's result, with the name their card shows (the account's name when there is no card)."""
    items = list(run.items.select_related("user").order_by("pk"))
    profiles = {}
    for answer in hooks.member_profiles.send(
        organisation=run.organisation, user_ids=[i.user_id for i in items]
    ):
        profiles.update(answer or {})
    return [
        {
            "user_id": item.user_id,
            "name": (profiles.get(item.user_id) or {}).get("full_name") or item.user.get_full_name(),
            "email": item.user.email,
            "status": item.status,
            "status_label": str(item.get_status_display()),
            "reason": item.reason,
            "attempts": item.attempts,
        }
        for item in items
    ]


def push_choices(*, organisation: Organisation) -> dict:
    """Who may be chosen on the push page: members (with a card's name) and the departments cards name."""
    profiles = {}
    for answer in hooks.member_profiles.send(organisation=organisation, user_ids=None):
        profiles.update(answer or {})
    members = Membership.objects.filter(organisation=organisation).select_related("user")
    people = sorted(
        (
            (
                m.user_id,
                (profiles.get(m.user_id) or {}).get("full_name") or m.user.get_full_name(),
                m.user.email,
            )
            for m in members
        ),
        key=lambda person: person[1].lower(),
    )
    departments = sorted(
        {(p.get("department") or "").strip() for p in profiles.values()} - {""}, key=str.lower
    )
    return {"members": people, "departments": departments}


def push_setup(*, organisation: Organisation) -> dict:
    """Whether Google Workspace is connected and the client id to grant delegation to; asks Google nothing."""
    answers = hooks.signature_push_allowed.send(organisation=organisation, actor=None, check=False)
    return answers[0] if answers else {"connected": False, "client_id": "", "domains": []}

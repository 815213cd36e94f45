"""Reads of the directory for the integration page: connections, runs, progress, groups, templates."""

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tessera.accounts import hooks
from tessera.accounts.models import Organisation

from . import mapping
from .models import (
    Connection,
    ExternalGroup,
    ExternalUser,
    Provider,
    ScimToken,
    SyncProblem,
    SyncRun,
    WriteBack,
)

# A run the page follows with its progress bar.
ACTIVE = (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)
# The dry run's lists show this many people each; the rest is counted.
PLAN_SHOWN = 200
PROBLEMS_SHOWN = 100
WRITEBACKS_SHOWN = 10
# The card's own names for the fields a directory attribute can feed, in the order of the card editor.
CARD_FIELD_LABELS = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "job_title": gettext_lazy("Job title"),
    "department": gettext_lazy("Department"),
    "company": gettext_lazy("Company"),
    "work_phone": gettext_lazy("Office phone"),
    "mobile_phone": gettext_lazy("Mobile phone"),
    "email": gettext_lazy("Email"),
    "office": gettext_lazy("Office"),
    "street": gettext_lazy("Street"),
    "postal_code": gettext_lazy("Postal code"),
    "city": gettext_lazy("City"),
    "country": gettext_lazy("Country"),
}


def connection_live(*, organisation: Organisation, provider: str) -> Connection | None:
    """The organisation's connection to `provider` that is not disconnected, if any."""
    return (
        Connection.objects.filter(organisation=organisation, provider=provider, disconnected_at__isnull=True)
        .select_related("connected_by")
        .first()
    )


def runs_of(*, organisation: Organisation) -> QuerySet[SyncRun]:
    """Every run of the organisation's connections, live or not: the one place a run id is looked up."""
    return SyncRun.objects.filter(connection__organisation=organisation).select_related("connection")


def run_progress(*, run: SyncRun) -> dict:
    """What the progress bar shows; `percent` is None while the total is unknown (an indeterminate bar)."""
    if run.status in (SyncRun.Status.DONE, SyncRun.Status.PLANNED):
        percent = 100
    elif run.expected:
        # 100 only once the run says it is done: the last page may still be applying.
        percent = min(99, run.seen * 100 // run.expected)
    else:
        percent = None
    return {
        "figures": _figures(run, percent),
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "active": run.status in ACTIVE,
        "percent": percent,
        "seen": run.seen,
        "expected": run.expected,
        "created": run.created,
        "updated": run.updated,
        "deactivated": run.deactivated,
        "unchanged": run.unchanged,
        "failed": run.failed,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def _figures(run: SyncRun, percent: int | None) -> str:
    """The words beside the bar, in the request's language: the JSON carries them for the script."""
    parts = [f"{percent} %"] if percent is not None else []
    if run.expected:
        parts.append(_("%(seen)s of %(expected)s people") % {"seen": run.seen, "expected": run.expected})
    elif run.seen:
        parts.append(ngettext("%(seen)s person read", "%(seen)s people read", run.seen) % {"seen": run.seen})
    return " · ".join(parts)


def sync_state_of(*, connection: Connection | None) -> dict:
    """The run in progress, the last finished sync (with its problems) and the dry run awaiting confirmation."""
    if connection is None:
        return {"current": None, "last": None, "problems": [], "problems_more": 0, "planned": None}
    runs = connection.runs.exclude(kind=SyncRun.Kind.DRY_RUN)
    current = runs.filter(status__in=ACTIVE).order_by("-created_at").first()
    last = (
        runs.filter(status__in=(SyncRun.Status.DONE, SyncRun.Status.FAILED)).order_by("-created_at").first()
    )
    planned = (
        connection.runs.filter(kind=SyncRun.Kind.DRY_RUN, status=SyncRun.Status.PLANNED)
        .order_by("-created_at")
        .first()
    )
    if planned is not None and not dry_run_open(run=planned):
        planned = None
    return {
        "current": current,
        "progress": run_progress(run=current) if current else None,
        "last": last,
        **problems_of(run=last),
        "planned": planned,
    }


def problems_of(*, run: SyncRun | None) -> dict:
    """The people a run could not apply, cut to PROBLEMS_SHOWN, and how many more there are."""
    problems = SyncProblem.objects.filter(run=run) if run else SyncProblem.objects.none()
    count = problems.count()
    shown = list(problems[:PROBLEMS_SHOWN])
    for problem in shown:
        problem.field_label = _field_label(problem.field)
    return {"problems": shown, "problems_more": max(0, count - PROBLEMS_SHOWN)}


def _field_label(field: str) -> str:
    """The words for a problem's field, whether the directory's attribute or the card's own name."""
    labels = {
        **CARD_FIELD_LABELS,
        **mapping.ATTRIBUTES,
        "phones": _("Phone numbers"),
        "emails": _("Email addresses"),
    }
    return str(labels.get(field, field))


def dry_run_open(*, run: SyncRun) -> bool:
    """A planned dry run may still be confirmed: its directory is connected and no sync started since."""
    if run.status != SyncRun.Status.PLANNED or not run.connection.is_live:
        return False
    later = run.connection.runs.exclude(kind=SyncRun.Kind.DRY_RUN).filter(created_at__gt=run.created_at)
    return not later.exists()


def plan_of(*, run: SyncRun) -> list[dict]:
    """A dry run's plan as three lists (create, update, deactivate), each cut to PLAN_SHOWN people."""
    plan = run.plan or {}
    sections = []
    for key in ("create", "update", "deactivate"):
        people = [p for p in plan.get(key, []) if isinstance(p, dict)]
        sections.append(
            {
                "key": key,
                "count": len(people),
                "people": people[:PLAN_SHOWN],
                "more": max(0, len(people) - PLAN_SHOWN),
            }
        )
    return sections


def groups_of(*, organisation: Organisation, provider: str = Provider.MICROSOFT) -> QuerySet[ExternalGroup]:
    """The directory groups still present, by name, with their member counts."""
    return (
        ExternalGroup.objects.filter(organisation=organisation, provider=provider, removed_at__isnull=True)
        .annotate(member_count=Count("members"))
        .order_by("display_name", "pk")
    )


def templates_offered(*, organisation: Organisation) -> list[tuple[str, str]]:
    """The card templates a group may give, as (public id, name), from whichever app keeps templates."""
    offered = []
    for answer in hooks.organisation_templates.send(organisation=organisation):
        offered.extend((str(public_id), name) for public_id, name in answer or ())
    return offered


def scim_token_of(*, organisation: Organisation) -> ScimToken | None:
    return ScimToken.objects.filter(organisation=organisation).first()


def group_members(*, group: ExternalGroup) -> list[ExternalUser]:
    """The group's people here, by address, each with `label` (the name the card shows, else the address)."""
    people = list(group.members.filter(removed_at__isnull=True).select_related("user").order_by("user_name"))
    for person in people:
        person.label = _person_label(person)
    return people


def group_candidates(*, group: ExternalGroup) -> list[ExternalUser]:
    """People of the same directory, still in it, who are not in the group yet."""
    people = list(
        ExternalUser.objects.filter(
            organisation_id=group.organisation_id, provider=group.provider, removed_at__isnull=True
        )
        .exclude(external_id="")
        .exclude(groups=group)
        .select_related("user")
        .order_by("user_name")
    )
    for person in people:
        person.label = _person_label(person)
    return people


def _person_label(person: ExternalUser) -> str:
    name = person.user.get_full_name() if person.user else ""
    return f"{name} ({person.user_name})" if name else person.user_name


def writebacks_of(*, connection: Connection | None, limit: int = WRITEBACKS_SHOWN) -> list[WriteBack]:
    """The latest changes on their way to the directory, newest first."""
    if connection is None:
        return []
    return list(connection.writebacks.select_related("actor").order_by("-created_at")[:limit])


def writebacks_stuck(*, connection: Connection) -> QuerySet[WriteBack]:
    """The writes given up or held, which the page's "retry" sends again."""
    return connection.writebacks.filter(status__in=(WriteBack.Status.FAILED, WriteBack.Status.HELD))

"""Processing activities of the directory: connections to Google Workspace and Entra ID, sync and SCIM.

Here the operator is the customer company's processor: the company decides whom its directory makes a
member, and the policy page says so. Directory data beyond what the card shows is not kept; the bookkeeping
that matches people again (external ids, delta links) goes 30 days after the directory is disconnected.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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

from .models import (
    Connection,
    ExternalGroup,
    ExternalUser,
    SyncCursor,
    SyncProblem,
    SyncRun,
    WriteBack,
)
from .services import tokens

DIRECTORY = _("Directory integration")
CUSTOMER = _("the customer company that connects its directory")
TOKEN_IDLE = timedelta(days=90)
BOOKKEEPING_AFTER_DISCONNECT = timedelta(days=30)
REMOVED_PERSON = timedelta(days=30)
RUN_RETENTION = timedelta(days=30)
WRITEBACK_RETENTION = timedelta(days=30)


def _idle_tokens(*, now) -> int:
    """Refresh tokens unused for 90 days are deleted (revoked at Google first): the admin reconnects."""
    return tokens.connection_tokens_expire(now=now)


def _disconnected(*, now) -> int:
    """30 days after a disconnection, what matched people again goes: cursors, runs, external ids, the row."""
    count = 0
    gone = Connection.objects.filter(disconnected_at__lt=now - BOOKKEEPING_AFTER_DISCONNECT)
    for connection in gone:
        with transaction.atomic():
            live = Connection.objects.filter(
                organisation_id=connection.organisation_id,
                provider=connection.provider,
                disconnected_at__isnull=True,
            ).exists()
            if not live:
                kept = {"organisation_id": connection.organisation_id, "provider": connection.provider}
                count += batched_delete(ExternalUser.objects.filter(**kept).order_by())
                count += batched_delete(ExternalGroup.objects.filter(**kept).order_by())
            count += batched_delete(SyncProblem.objects.filter(run__connection=connection).order_by())
            count += batched_delete(SyncRun.objects.filter(connection=connection).order_by())
            count += batched_delete(SyncCursor.objects.filter(connection=connection).order_by())
            count += batched_delete(WriteBack.objects.filter(connection=connection).order_by())
            connection.delete()
            count += 1
    return count


def _removed_people(*, now) -> int:
    """A person who left the directory (or was deleted by SCIM) is forgotten by the directory 30 days later."""
    return batched_delete(ExternalUser.objects.filter(removed_at__lt=now - REMOVED_PERSON).order_by())


def _old_runs(*, now) -> int:
    """Runs and their per-person errors after 30 days; each connection keeps its latest run for its page."""
    latest = {
        connection_id: run_id
        for connection_id, run_id in SyncRun.objects.order_by(
            "connection_id", "created_at", "pk"
        ).values_list("connection_id", "pk")
    }
    old = SyncRun.objects.filter(created_at__lt=now - RUN_RETENTION).exclude(pk__in=latest.values())
    return batched_delete(SyncProblem.objects.filter(run__in=old).order_by()) + batched_delete(old.order_by())


def _old_writebacks(*, now) -> int:
    return batched_delete(
        WriteBack.objects.filter(
            status__in=[WriteBack.Status.SENT, WriteBack.Status.FAILED],
            created_at__lt=now - WRITEBACK_RETENTION,
        ).order_by()
    )


activities = [
    Activity(
        name="directory.connection",
        service=DIRECTORY,
        title=_("Connection to Google Workspace or Microsoft Entra ID"),
        purpose=_(
            "Let a company's administrator connect its Google Workspace or Microsoft Entra ID: check that "
            "they administer it, show the directory's name and domain, and keep the authorisation they "
            "granted so that the company's directory stays in step with its cards."
        ),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_("Needed to provide the directory integration the company subscribed to."),
        processor_for=CUSTOMER,
        data_subjects=(_("Administrators of customer companies who connect a directory"),),
        data_categories=(
            _("The administrator's address as the directory vouched for it, and who connected"),
            _("The authorisation granted by the directory (refresh token, encrypted)"),
            _("The directory's name and primary domain"),
        ),
        fields={
            "directory.Connection": ["connected_by", "connected_as", "refresh_token"],
            "directory.ScimToken": ["created_by"],
        },
        recipients=(_("Administrators of the company"), STAFF),
        retention=Retention(
            description=_(
                "Access tokens live in memory for one job. The refresh token is deleted on disconnection, "
                "when the directory refuses it, or after 90 days unused. The connection record is deleted "
                "30 days after disconnection."
            ),
            period=TOKEN_IDLE,
            apply=lambda *, now: _idle_tokens(now=now) + _disconnected(now=now),
        ),
        security_measures=(
            TLS,
            _("OAuth 2.0 with PKCE; refresh tokens encrypted with a key kept outside the database"),
            _("Only the permissions listed in this policy are requested; forbidden calls never leave"),
            _("Every administrator check and every write to the directory is in the security log"),
        ),
        transfers_outside_eea=_(
            "None by us: the company's own directory provider (Google or Microsoft) answers our requests "
            "under the company's agreement with it."
        ),
    ),
    Activity(
        name="directory.sync",
        service=DIRECTORY,
        title=_("Directory sync and SCIM provisioning"),
        purpose=_(
            "Keep a company's members and their cards in step with its directory: create, update and "
            "deactivate cards, give templates and roles by group, and send back to the directory the "
            "changes its administrators make here (job title, phones, department, office, groups)."
        ),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_(
            "On the company's documented instructions; it decides whom its directory makes a member."
        ),
        processor_for=CUSTOMER,
        data_subjects=(_("Employees of customer companies listed in their directory"),),
        data_categories=(
            _("Directory identifiers and user name, to match the person again"),
            _("Group memberships"),
            _("The card fields the company chooses to sync (name, job title, phones, addresses…)"),
            _("Errors of a sync about a person, and changes waiting to be written back"),
        ),
        fields={
            "directory.ExternalUser": ["external_id", "user", "user_name", "scim_values"],
            "directory.SyncRun": ["requested_by", "plan", "error"],
            "directory.SyncProblem": ["external_id", "label", "message"],
            "directory.WriteBack": ["target", "payload", "actor", "last_error"],
        },
        recipients=(_("Administrators of the company"), _("The company's directory (write-back)"), STAFF),
        retention=Retention(
            description=_(
                "Nothing beyond what the card shows is kept. Identifiers of a person who left the directory "
                "are deleted after 30 days; sync records and sent write-backs after 30 days; all sync "
                "bookkeeping 30 days after the directory is disconnected. Cards follow their own rules."
            ),
            period=BOOKKEEPING_AFTER_DISCONNECT,
            apply=lambda *, now: _removed_people(now=now) + _old_runs(now=now) + _old_writebacks(now=now),
        ),
        security_measures=(
            TLS,
            _("Per-company SCIM bearer token, of which only a hash is kept"),
            _("Accounts are never deleted and passwords never changed in the directory"),
        ),
    ),
]

non_personal = {
    "directory.Connection": [
        "provider",
        "tenant_id",
        "display_name",
        "primary_domain",
        "scope",
        "scope_groups",
        "scope_domains",
        "attribute_map",
    ],
    "directory.SyncCursor": ["resource", "delta_link", "next_link", "last_page", "groups_seen"],
    "directory.SyncRun": ["kind", "status"],
    "directory.SyncProblem": ["field"],
    # Digests of what was applied: they reveal nothing without the values they were computed from.
    "directory.ExternalUser": ["provider", "applied", "applied_groups"],
    "directory.ExternalGroup": ["provider", "external_id", "display_name", "role"],
    "directory.ScimToken": ["prefix", "token_hash"],
    "directory.WriteBack": ["operation", "status"],
}


def _people(subject):
    return ExternalUser.objects.filter(Q(user_id__in=subject.user_ids) | Q(user_name__iexact=subject.email))


def export_subject(subject) -> list[ExportSection]:
    people = list(_people(subject).select_related("organisation").prefetch_related("groups"))
    identities = [
        {
            "organisation": person.organisation.name,
            "directory": person.get_provider_display(),
            "external_id": person.external_id,
            "scim_id": str(person.scim_id),
            "user_name": person.user_name,
            "active": person.active,
            "groups": sorted(group.display_name for group in person.groups.all()),
            "removed": person.removed_at.isoformat() if person.removed_at else "",
        }
        for person in people
    ]
    ids = [person.external_id for person in people if person.external_id]
    problems = [
        {"when": p.run.created_at.isoformat(), "field": p.field, "message": p.message}
        for p in SyncProblem.objects.filter(external_id__in=ids).select_related("run")
    ]
    connections = [
        {
            "organisation": c.organisation.name,
            "directory": c.get_provider_display(),
            "connected_as": c.connected_as,
            "connected": c.connected_at.isoformat(),
            "disconnected": c.disconnected_at.isoformat() if c.disconnected_at else "",
        }
        for c in Connection.objects.filter(connected_by_id__in=subject.user_ids).select_related(
            "organisation"
        )
    ]
    return [
        ExportSection(activity="directory.sync", category="directory_identities", rows=identities + problems),
        ExportSection(activity="directory.connection", category="directory_connections", rows=connections),
    ]


@transaction.atomic
def erase_subject(subject) -> list[ErasureOutcome]:
    people = _people(subject)
    ids = [i for i in people.values_list("external_id", flat=True) if i]
    erased = SyncProblem.objects.filter(external_id__in=ids).delete()[0]
    erased += WriteBack.objects.filter(target__in=ids).delete()[0]
    erased += people.delete()[1].get("directory.ExternalUser", 0)
    connections = Connection.objects.filter(connected_by_id__in=subject.user_ids).update(
        connected_by=None, connected_as=""
    )
    return [
        ErasureOutcome(activity="directory.sync", erased=erased),
        ErasureOutcome(activity="directory.connection", erased=connections),
    ]

"""What the directory keeps: connections, sync bookkeeping, external ids, SCIM tokens and queued write-backs.

Directory data beyond what a card shows is not kept: a person's attributes go straight into the card
(through accounts' hooks) and only the bookkeeping needed to match them again stays here.
"""

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Organisation


class Provider(models.TextChoices):
    GOOGLE = "google", _("Google Workspace")
    MICROSOFT = "microsoft", _("Microsoft Entra ID")
    SCIM = "scim", _("SCIM provisioning")


# The name a directory-fed card shows as its source: product names, the same in every language, so that a
# disconnection made in one language releases the cards a sync made in another.
SOURCE_NAMES = {
    Provider.GOOGLE: "Google Workspace",
    Provider.MICROSOFT: "Microsoft Entra ID",
    Provider.SCIM: "SCIM",
}


class Connection(models.Model):
    """An organisation's link to its Google Workspace or Entra ID tenant; one live connection per provider."""

    class Scope(models.TextChoices):
        TENANT = "tenant", _("everyone in the directory")
        GROUPS = "groups", _("members of chosen groups")
        DOMAIN = "domain", _("addresses in chosen domains")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="directory_connections"
    )
    provider = models.CharField(_("provider"), max_length=16, choices=Provider.choices)
    # Entra's tenant id or Google's customer id: whose directory this is.
    tenant_id = models.CharField(_("tenant"), max_length=64, blank=True)
    display_name = models.CharField(_("directory name"), max_length=200, blank=True)
    primary_domain = models.CharField(_("primary domain"), max_length=255, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The address the provider vouched for at connection time (the Workspace or Entra administrator).
    connected_as = models.EmailField(_("connected as"), blank=True)
    connected_at = models.DateTimeField(_("connected"), default=timezone.now)
    disconnected_at = models.DateTimeField(_("disconnected"), null=True, blank=True)
    # Sealed with crypto.token_seal; deleted on disconnect, invalid_grant, or after 90 days unused.
    refresh_token = models.TextField(blank=True)
    token_used_at = models.DateTimeField(_("token last used"), null=True, blank=True)
    # The last successful administrator check (Google): never trusted when older than ten minutes.
    admin_checked_at = models.DateTimeField(_("administrator checked"), null=True, blank=True)
    scope = models.CharField(_("who gets a card"), max_length=16, choices=Scope.choices, default=Scope.TENANT)
    scope_groups = models.JSONField(_("groups (external ids)"), default=list, blank=True)
    scope_domains = models.JSONField(_("domains"), default=list, blank=True)
    # {card field: directory attribute}; an empty value leaves the card field to its owner.
    attribute_map = models.JSONField(_("attributes"), default=dict, blank=True)
    sync_enabled = models.BooleanField(_("periodic sync"), default=False)
    # The administrator confirmed a dry run: from then on syncs apply without asking.
    confirmed_at = models.DateTimeField(_("first sync confirmed"), null=True, blank=True)

    class Meta:
        verbose_name = _("directory connection")
        verbose_name_plural = _("directory connections")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "provider"],
                condition=models.Q(disconnected_at__isnull=True),
                name="directory_one_live_connection_per_provider",
            )
        ]

    def __str__(self):
        return f"{self.get_provider_display()} — {self.organisation}"

    @property
    def is_live(self) -> bool:
        return self.disconnected_at is None


class SyncCursor(models.Model):
    """Where a delta sync of one resource stands: the stored deltaLink, or the page link to resume from."""

    class Resource(models.TextChoices):
        USERS = "users", _("users")
        GROUPS = "groups", _("groups")

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    resource = models.CharField(max_length=16, choices=Resource.choices)
    delta_link = models.TextField(blank=True)
    # Set while a sync runs: the next page to fetch. A crash resumes here; a page is applied once.
    next_link = models.TextField(blank=True)
    # sha256 of the last page applied, with its link: a page fetched again after a crash is skipped.
    last_page = models.CharField(max_length=64, blank=True)
    # Set while the whole collection is being read (first sync, resync): who was not seen since left.
    full_since = models.DateTimeField(null=True, blank=True)
    # During a full read of groups: the groups already seen, whose members later pages add to.
    groups_seen = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "resource"], name="directory_cursor_once")
        ]

    def __str__(self):
        return f"{self.connection_id}/{self.resource}"


class SyncRun(models.Model):
    """One sync (or dry run) of a connection, with its counts and progress for the integration page."""

    class Kind(models.TextChoices):
        DRY_RUN = "dry_run", _("dry run")
        FULL = "full", _("full sync")
        DELTA = "delta", _("delta sync")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        PLANNED = "planned", _("awaiting confirmation")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched after every page: a running sync silent for long belongs to a dead worker and is resumed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deactivated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    # Progress: people seen so far, and the expected total when the directory said so (else 0).
    seen = models.PositiveIntegerField(default=0)
    expected = models.PositiveIntegerField(default=0)
    # A dry run's plan: {"create": [...], "update": [...], "deactivate": [...]}, each item {"name", "email"}.
    plan = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["connection", "-created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class SyncProblem(models.Model):
    """One person a sync could not apply, and why (an invalid phone, an address used elsewhere…)."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="problems")
    external_id = models.CharField(max_length=255)
    label = models.CharField(max_length=255, blank=True)  # the name or address the admin recognises
    field = models.CharField(max_length=64, blank=True)
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.label or self.external_id}: {self.message}"


class ExternalUser(models.Model):
    """A person of a directory, matched to a member: the external id and just enough to match again."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="external_users")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # Entra's object id, or the SCIM client's externalId (may be empty for SCIM).
    external_id = models.CharField(max_length=255, blank=True)
    # The id this product gives the resource in SCIM (`id`).
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user_name = models.CharField(max_length=255)  # userPrincipalName or SCIM userName, lower-case
    active = models.BooleanField(default=True)
    # The person has left the directory (or SCIM DELETE): the card is off, the row waits for its retention.
    removed_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(default=timezone.now)
    # SCIM only: the card values it last provisioned ({card field: value}), echoed back in its answers.
    scim_values = models.JSONField(default=dict, blank=True)
    # Digests of what was last applied (the person's values; what their groups give): an unchanged person
    # costs a sync no query at all.
    applied = models.CharField(max_length=64, blank=True)
    applied_groups = models.CharField(max_length=64, blank=True)
    # Created by a bulk sync: the welcome email is sent by a follow-up job, durably, after the commit.
    welcome_due = models.BooleanField(default=False, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "provider", "external_id"],
                condition=~models.Q(external_id=""),
                name="directory_external_user_once",
            ),
            models.UniqueConstraint(
                fields=["organisation", "provider", "user_name"], name="directory_user_name_once"
            ),
        ]

    def __str__(self):
        return self.user_name


class ExternalGroup(models.Model):
    """A directory group, its members, and what it gives them here: a card template and a role."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="external_groups")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    external_id = models.CharField(max_length=255, blank=True)
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    display_name = models.CharField(_("name"), max_length=256)
    members = models.ManyToManyField(ExternalUser, related_name="groups", blank=True)
    # The card template (its public id, cards' own) given to the members; None keeps cards' own rule.
    template = models.UUIDField(_("card template"), null=True, blank=True)
    # "admin" or "member"; empty grants nothing. The owner role is never granted by a directory.
    role = models.CharField(_("role"), max_length=16, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "provider", "external_id"],
                condition=~models.Q(external_id=""),
                name="directory_external_group_once",
            ),
        ]

    def __str__(self):
        return self.display_name


class ScimToken(models.Model):
    """The bearer token of an organisation's SCIM endpoint: only its SHA-256 is kept."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="scim_token")
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"scim {self.prefix}…"

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class WriteBack(models.Model):
    """A change an administrator made here, on its way to the directory (Graph), delivered durably."""

    class Operation(models.TextChoices):
        USER_UPDATE = "user_update", _("update a person")
        GROUP_CREATE = "group_create", _("create a group")
        GROUP_UPDATE = "group_update", _("rename a group")
        MEMBER_ADD = "member_add", _("add a group member")
        MEMBER_REMOVE = "member_remove", _("remove a group member")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        HELD = "held", _("held")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="writebacks")
    operation = models.CharField(max_length=16, choices=Operation.choices)
    target = models.CharField(max_length=255, blank=True)  # the Graph object id
    payload = models.JSONField(default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.get_operation_display()} {self.target}"

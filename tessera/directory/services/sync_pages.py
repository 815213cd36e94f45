"""One page of an Entra delta, applied through the hub (people.py), in one transaction with its cursor.

Users: each person through person_apply (a refused one becomes a SyncProblem, the rest of the page
applies), `@removed` and people leaving the scope through person_remove (the card goes off, never
deleted). Groups: members@delta merged across the page, then group_apply without refresh, and one
people_refresh of everyone whose groups changed. A dry run calls the hub with dry_run and fills the plan.
"""

import hashlib
import json
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tessera.core.text import printable

from ..mapping import attribute_map_of, locked_fields, person_from_entra, user_select
from ..models import Connection, ExternalGroup, ExternalUser, Provider, SyncCursor, SyncProblem, SyncRun
from .people import PersonRejected, group_apply, group_remove, people_refresh, person_remove
from .people_bulk import people_apply

GROUP_SELECT = "displayName,members"
USER_TYPE = "#microsoft.graph.user"
PROVIDER = Provider.MICROSOFT
PLAN_LIMIT = 20_000  # names a dry run's plan lists per kind of change


@dataclass
class PageContext:
    """What every page of one run needs: the run, its connection's choices, and a dry run's own memory."""

    run: SyncRun
    connection: Connection
    graph: object
    attribute_map: dict
    locked: tuple
    user_select: str
    plan: dict = field(default_factory=lambda: {"create": [], "update": [], "deactivate": []})
    seen_ids: set = field(default_factory=set)  # a dry run's people seen (it writes no seen_at)
    dry_groups: dict = field(default_factory=dict)  # a dry run's scope group members

    @classmethod
    def build(cls, *, run: SyncRun, graph) -> "PageContext":
        attribute_map = attribute_map_of(run.connection)
        return cls(
            run=run,
            connection=run.connection,
            graph=graph,
            attribute_map=attribute_map,
            locked=locked_fields(attribute_map),
            user_select=user_select(attribute_map),
        )

    @property
    def dry(self) -> bool:
        return self.run.kind == SyncRun.Kind.DRY_RUN

    @property
    def organisation(self):
        return self.connection.organisation


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    failed: int = 0
    seen: int = 0

    def add(self, result: str | None) -> None:
        if result in ("created", "updated", "deactivated", "unchanged"):
            setattr(self, result, getattr(self, result) + 1)


def page_digest(link: str, page: dict) -> str:
    return hashlib.sha256((link + json.dumps(page, sort_keys=True)).encode()).hexdigest()


def page_apply(
    context: PageContext, resource: str, page: dict, *, link: str, cursor: SyncCursor | None
) -> str:
    """Apply one page and move the cursor past it, all or nothing; the next link ("" at the deltaLink).

    A page whose cursor moved meanwhile (another worker, or this page already applied) is not applied.
    """
    next_link = page.get("@odata.nextLink", "")
    if context.dry:
        _apply(context, resource, page, full=True)
        return next_link
    digest = page_digest(link, page)
    with transaction.atomic():
        locked = SyncCursor.objects.select_for_update().get(pk=cursor.pk)
        if locked.next_link != link:
            return locked.next_link  # another worker moved on: follow it
        if locked.last_page != digest:  # the very page already applied is only stepped over
            _apply(context, resource, page, full=locked.full_since is not None, cursor=locked)
        delta_link = page.get("@odata.deltaLink", "")
        SyncCursor.objects.filter(pk=cursor.pk).update(
            next_link=next_link,
            delta_link=delta_link or locked.delta_link,
            last_page=digest,
            groups_seen=locked.groups_seen,
            updated_at=timezone.now(),
        )
    return next_link


def _apply(context: PageContext, resource: str, page: dict, *, full: bool, cursor=None) -> None:
    tally = Tally()
    entries = [item for item in page.get("value") or [] if isinstance(item, dict) and item.get("id")]
    if resource == SyncCursor.Resource.USERS:
        _users(context, entries, tally)
    else:
        _groups(context, entries, tally, full=full, cursor=cursor)
    tally.seen = len(entries)
    fields = {name: F(name) + value for name, value in vars(tally).items() if value}
    fields["pages"] = F("pages") + 1
    fields["heartbeat_at"] = timezone.now()
    if "@odata.count" in page:
        fields["expected"] = int(page["@odata.count"])
    SyncRun.objects.filter(pk=context.run.pk).update(**fields)


def _problem(
    context: PageContext, *, external_id: str, label: str, error: PersonRejected, tally: Tally
) -> None:
    tally.failed += 1
    messages = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    name, texts = next(iter(messages.items()), ("", [str(error)]))
    # What a hostile directory sent is shown back, so it is made printable first (PostgreSQL refuses NUL).
    SyncProblem.objects.create(
        run=context.run,
        external_id=printable(external_id)[:255],
        label=printable(label)[:255],
        field="" if name == "__all__" else printable(str(name))[:64],
        message=printable(texts[0] if texts else str(error))[:500],
    )


def _plan(context: PageContext, kind: str, name: str, email: str) -> None:
    if len(context.plan[kind]) < PLAN_LIMIT:
        context.plan[kind].append({"name": printable(name)[:255], "email": printable(email)[:255]})


def _known(context: PageContext, external_ids) -> dict:
    rows = ExternalUser.objects.filter(
        organisation=context.organisation, provider=PROVIDER, external_id__in=list(external_ids)
    ).select_related("user")
    return {row.external_id: row for row in rows}


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _scope_members(context: PageContext) -> set:
    return set(
        ExternalUser.objects.filter(
            organisation=context.organisation,
            provider=PROVIDER,
            groups__external_id__in=context.connection.scope_groups,
            groups__removed_at__isnull=True,
        ).values_list("external_id", flat=True)
    ) | {eid for members in context.dry_groups.values() for eid in members}


def _in_scope(context: PageContext, user: dict, known: ExternalUser | None, scope_members: set) -> bool:
    scope = context.connection.scope
    if scope == Connection.Scope.DOMAIN:
        domains = {d.lower() for d in context.connection.scope_domains}
        addresses = [user.get("userPrincipalName"), user.get("mail")]
        if known is not None:
            addresses += [known.user_name, known.user.email if known.user else ""]
        return any(_domain(a) in domains for a in addresses if isinstance(a, str) and a)
    if scope == Connection.Scope.GROUPS:
        return user["id"] in scope_members
    return True


def _complete(context: PageContext, user: dict, known: ExternalUser | None) -> dict:
    """A delta may carry only what changed: a newcomer, or a half-given phone list, is read in full."""
    phones = [a for a in ("businessPhones", "mobilePhone") if a in context.attribute_map.values()]
    partial_phones = 0 < sum(a in user for a in phones) < len(phones)
    if (known is None and "userPrincipalName" not in user) or partial_phones:
        return {**context.graph.user_get(user["id"], select=context.user_select), **user}
    return user


def _person(context: PageContext, user: dict, known: ExternalUser | None):
    person = person_from_entra(user, context.attribute_map)
    if known is None:
        return person
    changes = {}
    if "userPrincipalName" not in user:
        changes["user_name"] = known.user_name
    if "userPrincipalName" not in user and "mail" not in user:
        changes["email"] = known.user.email if known.user else known.user_name
    if "accountEnabled" not in user:
        changes["active"] = known.active
    if "displayName" not in user:
        changes["display_name"] = ""
    if changes:
        from dataclasses import replace

        person = replace(person, **changes)
    return person


def _users(context: PageContext, entries: list, tally: Tally, *, newcomers: bool = False) -> None:
    """Apply people; `newcomers` are members just added to a scope group, in scope by definition."""
    known = _known(context, (u["id"] for u in entries))
    scope_members = set()
    if context.connection.scope == Connection.Scope.GROUPS:
        scope_members = {u["id"] for u in entries} if newcomers else _scope_members(context)
    seen, batch = [], []
    for user in entries:
        row = known.get(user["id"])
        label = str(
            user.get("displayName") or user.get("userPrincipalName") or (row.user_name if row else "")
        )
        if "@removed" in user or not _in_scope(context, user, row, scope_members):
            if row is not None and row.removed_at is None:
                tally.add(_remove(context, row))
            continue
        if row is None and user.get("accountEnabled") is False:
            continue  # a disabled account gets no card; it is applied if it is enabled later
        seen.append(user["id"])
        try:
            person = _person(context, _complete(context, user, row), row)
        except PersonRejected as error:
            _problem(context, external_id=user["id"], label=label, error=error, tally=tally)
            continue
        batch.append((user["id"], label, person))
    # One call for the page: unchanged people cost nothing, newcomers are bulk inserted (people_bulk).
    results = people_apply(
        organisation=context.organisation,
        provider=PROVIDER,
        persons=[person for _id, _label, person in batch],
        locked=context.locked,
        dry_run=context.dry,
    )
    for (external_id, label, person), result in zip(batch, results, strict=True):
        if isinstance(result, PersonRejected):
            _problem(context, external_id=external_id, label=label, error=result, tally=tally)
            continue
        tally.add(result.result)
        if context.dry and result.result in ("created", "updated", "deactivated"):
            kind = {"created": "create", "updated": "update", "deactivated": "deactivate"}[result.result]
            _plan(context, kind, person.display_name or person.user_name, person.email)
    if context.dry:
        context.seen_ids.update(seen)
    elif seen:
        # Refused people were seen too: a full read must not take them for people who left.
        ExternalUser.objects.filter(
            organisation=context.organisation, provider=PROVIDER, external_id__in=seen
        ).update(seen_at=timezone.now())


def _remove(context: PageContext, row: ExternalUser) -> str:
    if context.dry:
        _plan(context, "deactivate", row.user_name, row.user.email if row.user else row.user_name)
        return "deactivated"
    return person_remove(external_user=row)


def users_sweep(context: PageContext, *, cursor: SyncCursor | None) -> None:
    """The end of a full read of users: whoever was not seen since it began has left the directory."""
    rows = ExternalUser.objects.filter(
        organisation=context.organisation, provider=PROVIDER, removed_at__isnull=True
    ).select_related("user")
    tally = Tally()
    if context.dry:
        for row in rows.exclude(external_id__in=context.seen_ids).iterator():
            tally.add(_remove(context, row))
    else:
        with transaction.atomic():
            locked = SyncCursor.objects.select_for_update().get(pk=cursor.pk)
            if locked.full_since is None or locked.next_link:
                return
            for row in rows.filter(seen_at__lt=locked.full_since):
                tally.add(person_remove(external_user=row))
            SyncCursor.objects.filter(pk=cursor.pk).update(full_since=None, updated_at=timezone.now())
    SyncRun.objects.filter(pk=context.run.pk).update(deactivated=F("deactivated") + tally.deactivated)


def groups_sweep(context: PageContext, *, cursor: SyncCursor) -> None:
    """The end of a full read of groups: the groups it did not see are gone, and everyone gets what their
    groups now give them (template, role) in one pass."""
    with transaction.atomic():
        locked = SyncCursor.objects.select_for_update().get(pk=cursor.pk)
        if locked.full_since is None or locked.next_link:
            return
        gone = ExternalGroup.objects.filter(
            organisation=context.organisation, provider=PROVIDER, removed_at__isnull=True
        ).exclude(external_id__in=locked.groups_seen)
        for group in gone:
            group_remove(group=group)
        people_refresh(
            organisation=context.organisation,
            external_users=ExternalUser.objects.filter(
                organisation=context.organisation, provider=PROVIDER, removed_at__isnull=True
            ),
        )
        SyncCursor.objects.filter(pk=cursor.pk).update(
            full_since=None, groups_seen=[], updated_at=timezone.now()
        )


def _merge(entries: list) -> dict:
    """The page's groups by id: name, removal, and members@delta added/removed, later entries winning."""
    merged: dict = {}
    for item in entries:
        entry = merged.setdefault(item["id"], {"name": None, "removed": False, "add": {}, "remove": {}})
        if "@removed" in item:
            entry["removed"] = True
            continue
        entry["removed"] = False
        if isinstance(item.get("displayName"), str):
            entry["name"] = item["displayName"]
        for member in item.get("members@delta") or []:
            if not isinstance(member, dict) or member.get("@odata.type", USER_TYPE) != USER_TYPE:
                continue  # nested groups and devices give no card
            member_id = str(member.get("id", ""))
            if "@removed" in member:
                entry["add"].pop(member_id, None)
                entry["remove"][member_id] = True
            else:
                entry["remove"].pop(member_id, None)
                entry["add"][member_id] = True
    return merged


def _groups(context: PageContext, entries: list, tally: Tally, *, full: bool, cursor) -> None:
    merged = _merge(entries)
    existing = {
        g.external_id: g
        for g in ExternalGroup.objects.filter(
            organisation=context.organisation, provider=PROVIDER, external_id__in=list(merged)
        )
    }
    scope_groups = (
        set(context.connection.scope_groups) if context.connection.scope == Connection.Scope.GROUPS else set()
    )
    member_ids = {m for e in merged.values() for m in [*e["add"], *e["remove"]]}
    for group_id, entry in merged.items():
        if group_id in scope_groups and not entry["removed"]:
            _scope_newcomers(context, group_id, entry, member_ids, tally)
    if context.dry:
        return
    known = _known(context, member_ids)
    seen = set(cursor.groups_seen) if full else set()
    touched, leaving = set(), set()
    for group_id, entry in merged.items():
        group = existing.get(group_id)
        if entry["removed"]:
            if group is not None and group.removed_at is None:
                if group_id in scope_groups:
                    leaving |= set(group.members.values_list("pk", flat=True))
                group_remove(group=group)  # it refreshes its members itself
            continue
        name = entry["name"] or (group.display_name if group else "") or _group_name(context, group_id)
        add = [known[m] for m in entry["add"] if m in known]
        remove = [known[m] for m in entry["remove"] if m in known]
        # Who changed matters for a delta's refresh and a scope group's leavers; a full read refreshes all.
        tracked = group is not None and (not full or group_id in scope_groups)
        before = set(group.members.values_list("pk", flat=True)) if tracked else set()
        replace = full and group_id not in seen
        try:
            group = group_apply(
                organisation=context.organisation, provider=PROVIDER, external_id=group_id, display_name=name,
                members=add if replace else None, add=() if replace else add, remove=() if replace else remove,
                group=group, refresh=False,
            )  # fmt: skip
        except PersonRejected as error:
            _problem(context, external_id=group_id, label=name, error=error, tally=tally)
            continue
        seen.add(group_id)
        if not full or group_id in scope_groups:
            after = set(group.members.values_list("pk", flat=True))
            renamed = (
                existing.get(group_id) is not None and existing[group_id].display_name != group.display_name
            )
            touched |= (before | after) if renamed else (before ^ after)
            leaving |= (before - after) if group_id in scope_groups else set()
    if full:
        cursor.groups_seen = sorted(seen)
    # A full read refreshes everyone once at its end (groups_sweep), not once per page they appear on.
    if touched and not full:
        people_refresh(
            organisation=context.organisation, external_users=ExternalUser.objects.filter(pk__in=touched)
        )
    for row in ExternalUser.objects.filter(pk__in=leaving, removed_at__isnull=True):
        if not row.groups.filter(external_id__in=scope_groups, removed_at__isnull=True).exists():
            tally.add(person_remove(external_user=row))


def _group_name(context: PageContext, group_id: str) -> str:
    return str(
        context.graph.get(f"/groups/{group_id}", params={"$select": "displayName"}).get("displayName") or ""
    )


def _scope_newcomers(context: PageContext, group_id: str, entry: dict, member_ids: set, tally: Tally) -> None:
    """Members added to a scope group whom the product does not know yet are read and applied first."""
    known = _known(context, entry["add"])
    if context.dry:
        context.dry_groups.setdefault(group_id, set()).update(entry["add"])
    for member_id in entry["add"]:
        row = known.get(member_id)
        if row is not None and row.removed_at is None:
            continue
        if context.dry and member_id in context.seen_ids:
            continue
        user = context.graph.user_get(member_id, select=context.user_select)
        _users(context, [user], tally, newcomers=True)

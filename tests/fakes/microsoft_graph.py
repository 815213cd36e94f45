"""The directory behind the Microsoft fake and Graph's delta query over it (users/delta, groups/delta).

Every change bumps a sequence number; a delta round takes a snapshot of what changed since its token,
serves it page by page behind opaque $skiptoken links (a link can be fetched again: a client that crashed
resumes from it), and ends with a $deltatoken link remembering the snapshot's sequence. As Graph does:
pages may be empty and still carry a nextLink, a group's members@delta is split over several pages that
repeat the group, deleted objects come back as {"id", "@removed": {"reason"}}, and an invalidated token
answers a resync error.
"""

import datetime
import secrets
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

# What Graph returns for users/delta without $select (the "default properties").
USER_DEFAULT = [
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName",
]  # fmt: skip
GROUP_DEFAULT = ["displayName", "description", "mailEnabled", "mailNickname", "securityEnabled", "members"]
MAX_PAGE_SIZE = 999


@dataclass
class Round:
    """One delta session from its first request to its deltaLink."""

    kind: str  # "users" | "groups"
    select: list
    snapshot: int  # the sequence the deltaLink will continue from
    entries: list  # users: (id, removed_reason|None); groups: (id, removed_reason|None, members@delta|None)
    since: int | None = None


@dataclass
class Cursor:
    round_id: str
    offset: int
    empties_left: int
    page: dict = field(default_factory=dict)  # page size -> body, so a link fetched twice answers the same


class GraphDirectory:
    """Mixed into FakeMicrosoft: users, groups, memberships, and their change history."""

    def _directory_init(self):
        self.users: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.members: dict[str, dict[str, int]] = {}  # group id -> {member id: sequence of the addition}
        self.removed_members: dict[str, dict[str, int]] = {}  # group id -> {member id: sequence of removal}
        self.deleted: dict[str, tuple[int, str, str]] = {}  # id -> (sequence, "changed"|"deleted", kind)
        self.recycle_bin: dict[str, dict] = {}  # soft-deleted users, restorable for 30 days
        self.version: dict[str, int] = {}  # object id -> sequence of its last property change
        self.prop_version: dict[str, dict[str, int]] = {}  # object id -> {property: sequence}
        self.seq = 0
        self.page_size = 100
        self.members_per_page = 20  # members@delta of one group object before the group repeats
        self.empty_pages = 0  # empty pages (with a nextLink) served at the start of every round
        self.partial_updates = False  # True: updated users carry only id + changed properties
        self.invalid_token_status = 410  # 410 Gone, or 400 (an expired token), both syncStateNotFound
        self.link_base = ""  # another origin for nextLink/deltaLink, to test a client that must refuse it
        self._rounds: dict[str, Round] = {}
        self._cursors: dict[str, Cursor] = {}
        self._delta_tokens: dict[str, tuple[str, list, int]] = {}  # token -> (kind, select, since)

    # --- mutations (tests and the Graph write endpoints) ---------------------------------------------------

    def _touch(self, object_id: str, props):
        self.seq += 1
        self.version[object_id] = self.seq
        versions = self.prop_version.setdefault(object_id, {})
        for name in props:
            versions[name] = self.seq

    def add_user(self, **attrs) -> str:
        with self._lock:
            user = _user(self.seq, self.verified_domain_names()[0], attrs)
            self.users[user["id"]] = user
            self.deleted.pop(user["id"], None)
            self._touch(user["id"], user)
            return user["id"]

    def add_users(self, count: int, **common) -> list[str]:
        """`count` realistic users at once (the benchmark creates 10,000 this way)."""
        return [self.add_user(**common) for _ in range(count)]

    def update_user(self, user_id: str, **attrs):
        with self._lock:
            self.users[user_id].update(attrs)
            self._touch(user_id, attrs)

    def delete_user(self, user_id: str, permanent: bool = False):
        """Soft delete ("changed": restorable for 30 days) or hard delete ("deleted"); memberships go too."""
        with self._lock:
            user = self.users.pop(user_id)
            if not permanent:
                self.recycle_bin[user_id] = user
            for group_id, members in self.members.items():
                if user_id in members:
                    self._remove_member(group_id, user_id)
            self.seq += 1
            self.deleted[user_id] = (self.seq, "deleted" if permanent else "changed", "users")

    def restore_user(self, user_id: str):
        """Restore a soft-deleted user from deleted items: it comes back whole in the next delta."""
        with self._lock:
            user = self.recycle_bin.pop(user_id)
            self.users[user_id] = user
            self.deleted.pop(user_id, None)
            self._touch(user_id, user)

    def add_group(self, display_name: str, members=(), **attrs) -> str:
        with self._lock:
            group = {
                "id": attrs.pop("id", None) or str(uuid.uuid4()),
                "displayName": display_name,
                "description": None,
                "mailEnabled": False,
                "mailNickname": _nickname(display_name),
                "securityEnabled": True,
                "groupTypes": [],
                **attrs,
            }
            self.groups[group["id"]] = group
            self.members[group["id"]] = {}
            self.removed_members[group["id"]] = {}
            self._touch(group["id"], group)
            self.add_members(group["id"], members)
            return group["id"]

    def update_group(self, group_id: str, **attrs):
        with self._lock:
            self.groups[group_id].update(attrs)
            self._touch(group_id, attrs)

    def delete_group(self, group_id: str, permanent: bool = False):
        with self._lock:
            self.groups.pop(group_id)
            self.seq += 1
            self.deleted[group_id] = (self.seq, "deleted" if permanent else "changed", "groups")

    def add_members(self, group_id: str, member_ids):
        with self._lock:
            for member_id in member_ids:
                if member_id not in self.members[group_id]:
                    self.seq += 1
                    self.members[group_id][member_id] = self.seq
                    self.removed_members[group_id].pop(member_id, None)

    def remove_members(self, group_id: str, member_ids):
        with self._lock:
            for member_id in member_ids:
                if member_id in self.members[group_id]:
                    self._remove_member(group_id, member_id)

    def _remove_member(self, group_id: str, member_id: str):
        self.seq += 1
        del self.members[group_id][member_id]
        self.removed_members[group_id][member_id] = self.seq

    def invalidate_delta_tokens(self, status: int | None = None):
        """Every deltaLink and nextLink handed out so far answers syncStateNotFound (410 Gone by default)."""
        with self._lock:
            if status:
                self.invalid_token_status = status
            self._delta_tokens.clear()
            self._cursors.clear()
            self._rounds.clear()

    # --- delta query ---------------------------------------------------------------------------------------

    def delta(self, kind: str, query: dict, max_page_size: int | None) -> tuple[int, dict]:
        """(status, body) of GET /{kind}/delta with this query string."""
        with self._lock:
            if "$skiptoken" in query:
                cursor = self._cursors.get(query["$skiptoken"])
                if cursor is None or cursor.round_id not in self._rounds:
                    return self._sync_state_lost()
                return 200, self._page(cursor, max_page_size)
            if "$deltatoken" in query:
                token = query["$deltatoken"]
                select = selected(query, kind)
                if token == "latest":  # "sync from now": no data, just a deltaLink
                    return 200, {
                        "@odata.context": self._context(kind),
                        "value": [],
                        **self._delta_link(kind, select, self.seq),
                    }
                if token not in self._delta_tokens:
                    return self._sync_state_lost()
                token_kind, select, since = self._delta_tokens[token]
                if token_kind != kind:
                    return self._sync_state_lost()
                return 200, self._start(kind, select, since, max_page_size)
            return 200, self._start(kind, selected(query, kind), None, max_page_size)

    def _sync_state_lost(self) -> tuple[int, dict]:
        return self.invalid_token_status, graph_error_body(
            "syncStateNotFound",
            "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
        )

    def _start(self, kind: str, select: list, since: int | None, max_page_size: int | None) -> dict:
        entries = self._user_entries(since, select) if kind == "users" else self._group_entries(since, select)
        round_id = secrets.token_hex(8)
        self._rounds[round_id] = Round(kind, select, self.seq, entries, since)
        return self._page(Cursor(round_id, 0, self.empty_pages), max_page_size)

    def _changed(self, object_id: str, since: int | None, select: list) -> bool:
        """Whether a selected property changed since `since`: Graph tracks only the properties selected."""
        if since is None:
            return True
        versions = self.prop_version.get(object_id, {})
        return any(versions.get(name, 0) > since for name in select)

    def _user_entries(self, since: int | None, select: list) -> list:
        entries = [(uid, None) for uid in self.users if self._changed(uid, since, select)]
        if since is not None:
            entries += [
                (oid, reason)
                for oid, (seq, reason, kind) in self.deleted.items()
                if kind == "users" and seq > since
            ]
        return entries

    def _group_entries(self, since: int | None, select: list) -> list:
        entries, with_members = [], "members" in select
        for gid in self.groups:
            changed = self._changed(gid, since, select)
            delta = []
            if with_members:
                delta = [
                    (mid, True) for mid, seq in self.members[gid].items() if since is None or seq > since
                ]
                if since is not None:
                    delta += [(mid, False) for mid, seq in self.removed_members[gid].items() if seq > since]
            if not changed and not delta:
                continue
            chunks = [
                delta[i : i + self.members_per_page] for i in range(0, len(delta), self.members_per_page)
            ]
            for chunk in chunks or [[]]:
                entries.append((gid, None, chunk if with_members else None))
        if since is not None:
            entries += [
                (oid, reason, None)
                for oid, (seq, reason, kind) in self.deleted.items()
                if kind == "groups" and seq > since
            ]
        return entries

    def _page(self, cursor: Cursor, max_page_size: int | None) -> dict:
        size = min(max_page_size or self.page_size, MAX_PAGE_SIZE)
        if size in cursor.page:
            return cursor.page[size]
        round_ = self._rounds[cursor.round_id]
        body = {"@odata.context": self._context(round_.kind)}
        if cursor.empties_left:
            body["value"] = []
            body.update(
                self._next_link(round_.kind, Cursor(cursor.round_id, cursor.offset, cursor.empties_left - 1))
            )
        else:
            chunk = round_.entries[cursor.offset : cursor.offset + size]
            body["value"] = [self._render(round_, entry) for entry in chunk]
            if cursor.offset + size < len(round_.entries):
                body.update(self._next_link(round_.kind, Cursor(cursor.round_id, cursor.offset + size, 0)))
            else:
                body.update(self._delta_link(round_.kind, round_.select, round_.snapshot))
        cursor.page[size] = body
        return body

    def _render(self, round_: Round, entry) -> dict:
        object_id, reason = entry[0], entry[1]
        source = self.users if round_.kind == "users" else self.groups
        if reason is None and object_id not in source:  # deleted while the round was being read
            reason = self.deleted.get(object_id, (0, "changed"))[1]
        if reason is not None:
            return {"id": object_id, "@removed": {"reason": reason}}
        obj = source[object_id]
        names = [n for n in round_.select if n != "members"]
        if round_.kind == "users" and self.partial_updates and round_.since is not None:
            versions = self.prop_version.get(object_id, {})
            names = [n for n in names if versions.get(n, 0) > round_.since]
        item = {"id": object_id, **{name: obj.get(name) for name in names}}
        if round_.kind == "groups" and entry[2] is not None:
            item["members@delta"] = []
            for mid, added in entry[2]:
                kind = "group" if mid in self.groups else "user"  # nested groups are members too
                member = {"@odata.type": f"#microsoft.graph.{kind}", "id": mid}
                if not added:
                    member["@removed"] = {"reason": "deleted"}
                item["members@delta"].append(member)
        return item

    def _context(self, kind: str) -> str:
        return f"{self.url}/v1.0/$metadata#{kind}"

    def _next_link(self, kind: str, cursor: Cursor) -> dict:
        token = secrets.token_urlsafe(24)
        self._cursors[token] = cursor
        return {
            "@odata.nextLink": f"{self.link_base or self.url}/v1.0/{kind}/delta?$skiptoken={quote(token)}"
        }

    def _delta_link(self, kind: str, select: list, since: int) -> dict:
        token = secrets.token_urlsafe(24)
        self._delta_tokens[token] = (kind, select, since)
        return {
            "@odata.deltaLink": f"{self.link_base or self.url}/v1.0/{kind}/delta?$deltatoken={quote(token)}"
        }


def selected(query: dict, kind: str) -> list:
    raw = query.get("$select", "")
    names = [n.strip() for n in raw.split(",") if n.strip()]
    return [n for n in names if n != "id"] or list(USER_DEFAULT if kind == "users" else GROUP_DEFAULT)


def graph_error_body(code: str, message: str) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": str(uuid.uuid4()),
                "client-request-id": str(uuid.uuid4()),
            },
        }
    }


def _nickname(name: str) -> str:
    return "".join(c for c in name if c.isalnum())[:64] or "group"


FIRST = ["Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Joni", "Lee", "Lidia",
         "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep", "Camille", "Élodie", "Noé", "Zoé"]  # fmt: skip
LAST = ["Vance", "Wilber", "Siciliani", "Archie", "Cerveny", "Langer", "Lauer", "Sherman", "Gu", "Holloway",
        "Valdez", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta", "Moreau", "Durand", "Lefèvre", "Bonnet"]  # fmt: skip
JOBS = [
    "Marketing Assistant",
    "Sales Representative",
    "Developer",
    "Product Manager",
    "Director",
    "Retail Manager",
]
DEPARTMENTS = ["Marketing", "Sales", "Engineering", "Finance", "Legal", "Operations", "Retail"]
CITIES = [
    ("Paris", "75002", "France", "FR"),
    ("Lyon", "69002", "France", "FR"),
    ("Redmond", "98052", "United States", "US"),
]


def _user(n: int, domain: str, attrs: dict) -> dict:
    """A user as Graph describes one; `attrs` override the generated values."""
    first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
    city, postal, country, _ = CITIES[n % len(CITIES)]
    given = attrs.get("givenName", first)
    surname = attrs.get("surname", last)
    alias = "".join(
        c for c in f"{given}.{surname}".lower() if c.isascii() and (c.isalnum() or c == ".")
    ) + str(n)
    user = {
        "id": str(uuid.uuid4()),
        "displayName": f"{given} {surname}",
        "givenName": given,
        "surname": surname,
        "jobTitle": JOBS[n % len(JOBS)],
        "department": DEPARTMENTS[n % len(DEPARTMENTS)],
        "companyName": "Contoso",
        "businessPhones": [f"+33 1 42 68 {n % 100:02d} {n // 100 % 100:02d}"],
        "mobilePhone": f"+33 6 12 34 {n % 100:02d} {n // 100 % 100:02d}",
        "mail": f"{alias}@{domain}",
        "userPrincipalName": f"{alias}@{domain}",
        "officeLocation": f"{n % 40 + 1}/{1000 + n % 300}",
        "streetAddress": f"{n % 120 + 1} rue de Rivoli",
        "city": city,
        "postalCode": postal,
        "country": country,
        "state": None,
        "usageLocation": CITIES[n % len(CITIES)][3],
        "preferredLanguage": "fr-FR",
        "accountEnabled": True,
        "employeeId": None,
    }
    user.update(attrs)
    return user

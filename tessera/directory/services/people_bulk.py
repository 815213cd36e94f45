"""A page of people at once: what a sync of 10,000 people needs to stay at a few queries per page.

Per person, person_apply costs some twenty queries; a directory's first sync is mostly newcomers and its
later syncs mostly unchanged people. So a page is sorted first: unchanged people (their digest as last
applied) cost nothing, newcomers whose address is free are checked in memory and created with a few bulk
inserts, and only the rest (changes, matches by address, refusals) take person_apply one by one. Every
outcome is the one person_apply would give; a refused person leaves nothing written and the others apply.

Newcomers' welcome emails are sent by a follow-up job (`people_welcome_send`), marked due in the same
transaction: a crash delays them, never loses them, and the sync does not wait for 10,000 renderings.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from tessera.accounts import hooks
from tessera.accounts import services as accounts_services
from tessera.accounts.models import Membership, Organisation, User
from tessera.core.bulk import rows_update

from ..models import ExternalUser
from .people import (
    Outcome,
    Person,
    PersonRejected,
    _groups_by_person,
    _identity,
    _role_apply,
    _role_of,
    _source,
    _template_of,
    person_apply,
    person_digest,
)

WELCOME_BATCH = 200


def _known(*, organisation, provider, persons: list[Person], names: set[str]) -> tuple[dict, dict]:
    ids = {p.external_id for p in persons if p.external_id}
    rows = (
        ExternalUser.objects.filter(organisation=organisation, provider=provider)
        .filter((Q(external_id__in=ids) & ~Q(external_id="")) | Q(user_name__in=names))
        .select_related("user")
    )
    rows = list(rows)
    return {r.external_id: r for r in rows if r.external_id}, {r.user_name: r for r in rows}


def _members(organisation, rows) -> dict[int, Membership]:
    user_ids = [r.user_id for r in rows if r.user_id]
    return {m.user_id: m for m in Membership.objects.filter(organisation=organisation, user_id__in=user_ids)}


def _checked(person: Person, locked) -> dict:
    """The card values as cards would store them, or PersonRejected keyed by field."""
    try:
        answers = hooks.member_values_check.send(values=dict(person.values), locked=locked)
    except ValidationError as error:
        raise PersonRejected(
            error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        ) from None
    return next((a for a in answers if a is not None), dict(person.values))


def people_apply(
    *,
    organisation: Organisation,
    provider: str,
    persons: list[Person],
    locked=(),
    dry_run: bool = False,
    invite: bool = True,
    language: str = "fr",
) -> list[Outcome | PersonRejected]:
    """Apply a page of people; the answers, in order, are those person_apply would give one by one."""
    results: list = [None] * len(persons)
    identities = {}
    for index, person in enumerate(persons):
        try:
            identities[index] = _identity(person)
        except PersonRejected as error:
            results[index] = error
    by_id, by_name = _known(
        organisation=organisation,
        provider=provider,
        persons=persons,
        names={name for name, _email in identities.values()},
    )
    members = _members(organisation, by_name.values())
    taken = accounts_services.addresses_taken({email for _name, email in identities.values()})
    fresh, known, claimed, one_by_one = [], [], set(), []
    for index, (user_name, email) in identities.items():
        person = persons[index]
        row = (by_id.get(person.external_id) if person.external_id else None) or by_name.get(user_name)
        digest = person_digest(person, locked)
        if row is not None and row.applied == digest and row.removed_at is None and row.user_id in members:
            results[index] = Outcome("unchanged", row)
        elif row is None and email not in taken and not claimed & {email, user_name}:
            claimed |= {email, user_name}
            fresh.append((index, user_name, email, digest))
        elif _same_identity(row, user_name, email, members) and not claimed & {email, user_name}:
            claimed |= {email, user_name}
            known.append((index, row, digest))
        else:
            one_by_one.append(index)
    _newcomers(
        organisation=organisation,
        provider=provider,
        persons=persons,
        fresh=fresh,
        locked=locked,
        dry_run=dry_run,
        invite=invite,
        language=language,
        results=results,
    )
    _changes(
        organisation=organisation,
        provider=provider,
        persons=persons,
        known=known,
        members=members,
        locked=locked,
        dry_run=dry_run,
        results=results,
    )
    for index in one_by_one:
        try:
            results[index] = person_apply(
                organisation=organisation,
                provider=provider,
                person=persons[index],
                locked=locked,
                dry_run=dry_run,
                invite=invite,
                language=language,
            )
        except PersonRejected as error:
            results[index] = error
    return results


def _same_identity(row, user_name: str, email: str, members: dict) -> bool:
    """A known member whose user name and address did not change: their card is updated in bulk."""
    return (
        row is not None
        and row.user_id in members
        and row.removed_at is None
        and row.user_name == user_name
        and row.user.email.lower() == email
    )


def _changes(*, organisation, provider, persons, known, members, locked, dry_run, results) -> None:
    """Known members whose values changed: checked in memory, then one read and one write of their cards."""
    checked = []
    for index, row, digest in known:
        try:
            checked.append((index, row, digest, _checked(persons[index], locked)))
        except PersonRejected as error:
            results[index] = error
    if not checked:
        return
    groups = _groups_by_person([row for _i, row, _d, _v in checked])
    decides = _role_of(organisation, provider, [])
    with transaction.atomic():
        answers: dict = {}
        for answer in hooks.members_synced.send(
            organisation=organisation,
            source=_source(provider),
            dry_run=dry_run,
            items=[
                {
                    "user_id": row.user_id,
                    "values": values,
                    "locked": None if locked is None else list(locked),
                    "template": _template_of(groups.get(row.pk, [])),
                    "groups": [g.display_name for g in groups.get(row.pk, [])],
                    "active": persons[index].active,
                }
                for index, row, _d, values in checked
            ],
        ):
            answers.update(answer or {})
        now = timezone.now()
        for index, row, digest, _values in checked:
            person = persons[index]
            deactivated = row.active and not person.active
            results[index] = Outcome(
                "deactivated" if deactivated else answers.get(row.user_id, "updated"), row
            )
            if dry_run:
                continue
            person_groups = groups.get(row.pk, [])
            admin = any(g.role == Membership.Role.ADMIN for g in person_groups)
            _role_apply(members[row.user_id], Membership.Role.ADMIN if admin else decides, provider)
            row.applied, row.active, row.seen_at = digest, person.active, now
        if not dry_run:
            rows_update(ExternalUser, [row for _i, row, _d, _v in checked], ["applied", "active", "seen_at"])


def _newcomers(*, organisation, provider, persons, fresh, locked, dry_run, invite, language, results) -> None:
    """Check every newcomer in memory, then create the accepted ones with a few inserts."""
    accepted = []
    for index, user_name, email, digest in fresh:
        try:
            values = _checked(persons[index], locked)
        except PersonRejected as error:
            results[index] = error
            continue
        accepted.append((index, user_name, email, digest, values))
    if dry_run:
        for index, *_rest in accepted:
            results[index] = Outcome("created" if persons[index].active else "unchanged", None)
        return
    if not accepted:
        return
    with transaction.atomic():
        users = accounts_services.members_provision(
            organisation=organisation,
            people=[(email, persons[index].display_name) for index, _n, email, _d, _v in accepted],
            language=language,
        )
        hooks.members_created.send(
            organisation=organisation,
            source=_source(provider),
            items=[
                {
                    "user_id": user.pk,
                    "values": values,
                    "locked": list(locked or ()),
                    "active": persons[index].active,
                }
                for user, (index, _n, _e, _d, values) in zip(users, accepted, strict=True)
            ],
        )
        rows = ExternalUser.objects.bulk_create(
            [
                ExternalUser(
                    organisation=organisation,
                    provider=provider,
                    external_id=persons[index].external_id,
                    user=user,
                    user_name=user_name,
                    active=persons[index].active,
                    applied=digest,
                    welcome_due=invite and persons[index].active,
                )
                for user, (index, user_name, _e, digest, _v) in zip(users, accepted, strict=True)
            ],
            batch_size=500,
        )
        if invite:
            # Named, not imported: the tasks module imports this one. A lost enqueue is swept every minute.
            task = import_string("tessera.directory.tasks.people_welcome_task")
            transaction.on_commit(lambda: task(organisation.pk), robust=True)
    for row, (index, *_rest) in zip(rows, accepted, strict=True):
        results[index] = Outcome("created", row)


def people_welcome_send(*, organisation_id: int | None = None, limit: int = WELCOME_BATCH) -> int:
    """Send the welcome emails a bulk sync left due, a batch per transaction; answers how many were sent."""
    sent = 0
    due = ExternalUser.objects.filter(welcome_due=True, user__isnull=False)
    if organisation_id is not None:
        due = due.filter(organisation_id=organisation_id)
    while True:
        with transaction.atomic():
            rows = list(
                due.select_for_update(skip_locked=True, of=("self",))
                .select_related("user", "organisation")
                .order_by("pk")[:limit]
            )
            if not rows:
                return sent
            for row in rows:
                user: User = row.user
                accounts_services.member_welcome_queue(
                    user=user, organisation=row.organisation, language=user.language
                )
            ExternalUser.objects.filter(pk__in=[r.pk for r in rows]).update(welcome_due=False)
            sent += len(rows)

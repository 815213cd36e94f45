"""Extension points of the organisation writes, for the apps that build on accounts.

accounts sits below the product apps and imports none of them. An app that keeps something per organisation
or per member (cards: its settings row, the owner's card, a leaving member's card) connects a receiver here
from its AppConfig.ready. The services of accounts call the receivers directly, not through Django signals,
so that their order and their answers are part of the contract:

- `organisation_created(organisation=, owner=)` runs once the organisation and its owner's membership exist;
- `membership_removing(membership=)` runs after the checks, the memberships locked, just before the seat is
  deleted; each receiver answers a dict of facts (cards: `{"card": "handed_back"}`) that goes into the security
  log entry and back to the caller.

The directory (Google Workspace, Entra ID, SCIM) feeds members' profiles without knowing what keeps them:

- `member_synced(membership=, values=, locked=, source=, template=, groups=, active=, dry_run=)` gives a
  member the values a directory holds. `values` maps profile field names (first_name, last_name, job_title,
  company, department, office, street, postal_code, city, country, phones, emails) to values; `locked` names
  the fields the directory feeds, which the member may no longer edit (`source` says which directory, for the
  note; None keeps the locks as they are); `template` is a template's public id or None; `groups` the directory group names or None (unchanged);
  `active` False takes the profile off the public web. A receiver raises ValidationError (keyed by field) for a
  value it refuses, and answers "created", "updated" or "unchanged". With `dry_run` it writes nothing.
- `directory_released(organisation=, source=)`: the directory was disconnected; fields it fed are editable again.
- `directory_fields_edited(membership=, changes=, actor=)` runs when an administrator edits directory-fed
  fields of a member here; the directory queues the change for write-back, or raises ValidationError.
- `organisation_templates(organisation=)` answers [(public id, name)] of the templates a directory group can give.
- `member_values_check(values=, locked=)` cleans a directory's values as `member_synced` would, writing nothing:
  it answers the cleaned values or raises ValidationError keyed by field (a bulk sync checks a page first).
- `members_created(organisation=, items=, source=)` creates the profiles of many new members at once, for a
  bulk sync: each item is {"user_id", "values" (checked), "locked", "active"}; nothing is answered.
- `members_synced(organisation=, items=, source=, dry_run=)` is `member_synced` for many existing members at
  once: each item is {"user_id", "values" (checked), "locked", "template", "groups", "active"}; the receiver
  answers {user id: "created" | "updated" | "unchanged"}.

Email signatures reach the cards and the Google connection through these, never by import:

- `member_profiles(organisation=, user_ids=None)`: cards answers {user id: profile} for the organisation's
  published cards (all of them when `user_ids` is None): first_name, last_name, full_name, job_title, company,
  department, office, address, website, phones [{kind, number}], email, emails, links [{label, url}],
  card_url, photo_url ("" without a public photo), template (the card template's public id or None), groups.
- `member_profile_changed(card_owner_id=, organisation_id=)`: cards sends it after a member's card changed (by
  the member, an administrator or a directory sync); signatures queues one coalesced re-push. A bulk change
  names its owners at once: `card_owner_ids=[...]` instead of `card_owner_id`.
- `signature_push_allowed(organisation=, actor=, request=None, check=True)`: the directory asks Google again
  whether `actor` is a Workspace administrator; answers {"allowed": bool, "message": str, "domains": [str],
  "client_id": str} (the message, translated, says why not). With check=False it asks nobody and answers
  {"allowed": None, "connected": bool, "client_id": str, "domains": [str]} for a page to show.
- `signature_gmail_patch(organisation=, email=, signature=, verify=False)`: sets that member's Gmail signature
  (users.settings.sendAs.patch, impersonating `email`); with `verify` it first reads the current one (an
  empty patch) and writes only when it differs. Answers {"result": "updated"|"unchanged"|"retry"|"failed",
  "message": Google's words, "retry_after": seconds or None, "scope": "user"|"project", "uncertain": bool
  (Google may have applied it: read before writing again)}; never raises for Google's answers.

Receivers run synchronously, in the order they were connected, inside the service's transaction: a receiver
that raises rolls the whole write back, and nothing a receiver writes survives a failure of the service.
"""

from collections.abc import Callable


class Hook:
    """An ordered list of receivers called with keyword arguments; `send` returns their answers in order."""

    def __init__(self, name: str):
        self.name = name
        self._receivers: list[Callable] = []

    def connect(self, receiver: Callable) -> None:
        # AppConfig.ready may run twice (tests, management commands): a receiver is kept once.
        if receiver not in self._receivers:
            self._receivers.append(receiver)

    def send(self, **kwargs) -> list:
        return [receiver(**kwargs) for receiver in self._receivers]


organisation_created = Hook("organisation_created")
membership_removing = Hook("membership_removing")
member_synced = Hook("member_synced")
directory_released = Hook("directory_released")
directory_fields_edited = Hook("directory_fields_edited")
organisation_templates = Hook("organisation_templates")
member_values_check = Hook("member_values_check")
members_created = Hook("members_created")
members_synced = Hook("members_synced")
member_profiles = Hook("member_profiles")
member_profile_changed = Hook("member_profile_changed")
signature_push_allowed = Hook("signature_push_allowed")
signature_gmail_patch = Hook("signature_gmail_patch")

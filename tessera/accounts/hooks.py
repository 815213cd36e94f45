"""Extension points of the organisation writes, for the apps that build on accounts.

accounts sits below the product apps and imports none of them. An app that keeps something per organisation
or per member (cards: its settings row, the owner's card, a leaving member's card) connects a receiver here
from its AppConfig.ready. The services of accounts call the receivers directly, not through Django signals,
so that their order and their answers are part of the contract:

- `organisation_created(organisation=, owner=)` runs once the organisation and its owner's membership exist;
- `membership_removing(membership=)` runs after the checks, the memberships locked, just before the seat is
  deleted; each receiver answers a dict of facts (cards: `{"card": "handed_back"}`) that goes into the security
  log entry and back to the caller.

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

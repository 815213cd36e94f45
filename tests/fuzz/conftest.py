"""The hypothesis profile of the property tests of every parser of outside input.

Deterministic (derandomize: the same examples on every run, so CI never flakes on a new draw), with no
deadline (the machine is shared) and no example database. Each test names it as its parent,
`@settings(settings.get_profile("fuzz"), ...)`, rather than loading it for the whole session, so that
the other hypothesis users of the suite (the OpenAPI fuzzer) keep their own settings.
"""

from hypothesis import HealthCheck, settings

from tests.cards.conftest import admin_user, card, member, org  # noqa: F401 (the cards' fixtures)
from tests.room.conftest import clients, meeting, room_settings  # noqa: F401 (the room's fixtures)

settings.register_profile(
    "fuzz",
    deadline=None,
    derandomize=True,
    database=None,
    max_examples=200,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

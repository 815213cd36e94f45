"""rows_update: one prepared UPDATE for many rows, with each field's own preparation (JSON, FK, dates)."""

from datetime import UTC, datetime

import pytest

from tessera.cards.models import Card, CardTemplate
from tessera.core.bulk import rows_update
from tests.factories import CardFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def test_rows_update_writes_json_foreign_keys_dates_and_only_the_given_fields():
    organisation = OrganisationFactory(name="Alpha")
    template = CardTemplate.objects.create(organisation=organisation, name="Sales")
    cards = [CardFactory(first_name=f"P{n}") for n in range(3)]
    when = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
    for n, card in enumerate(cards):
        card.groups = [f"Team {n}", "Ünïcode"]
        card.template_id = template.pk if n else None
        card.updated_at = when
        card.first_name = "not saved"
    assert rows_update(Card, cards, ["groups", "template_id", "updated_at"], batch_size=2) == 3
    saved = {card.pk: card for card in Card.objects.filter(pk__in=[c.pk for c in cards])}
    for n, card in enumerate(cards):
        row = saved[card.pk]
        assert row.groups == [f"Team {n}", "Ünïcode"]
        assert row.template_id == (template.pk if n else None)
        assert row.updated_at == when
        assert row.first_name == f"P{n}"
    assert rows_update(Card, [], ["groups"]) == 0

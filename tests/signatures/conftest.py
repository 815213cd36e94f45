import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    """Services called directly answer in English here; pages choose their language from the URL."""
    with translation.override("en"):
        yield

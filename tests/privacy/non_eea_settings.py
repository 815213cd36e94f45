"""Test settings whose email provider is in the United States; tests/privacy/test_sub_processors.py runs
`manage.py check` with them, with and without transfer safeguards (TESSERA_TEST_SAFEGUARDS)."""

import os

from tessera.settings.test import *  # noqa: F403
from tessera.settings.test import TESSERA_SUB_PROCESSORS

TESSERA_SUB_PROCESSORS = {
    **TESSERA_SUB_PROCESSORS,
    "email": {**TESSERA_SUB_PROCESSORS["email"], "name": "Faraway Mail Inc.", "country": "United States"},
}
if os.environ.get("TESSERA_TEST_SAFEGUARDS"):
    TESSERA_SUB_PROCESSORS["email"]["transfer_safeguards"] = "Standard contractual clauses (2021/914)"

"""Test settings plus an app whose privacy.py is malformed (tests/privacy/test_register.py runs
`manage.py check` with them and expects start-up to stop)."""

from tessera.settings.test import *  # noqa: F403
from tessera.settings.test import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.privacy.malformed_app.apps.MalformedAppConfig"]

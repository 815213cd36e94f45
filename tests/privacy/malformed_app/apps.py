from django.apps import AppConfig


class MalformedAppConfig(AppConfig):
    """A test-only app whose privacy declaration is malformed: start-up must refuse it."""

    name = "tests.privacy.malformed_app"
    label = "malformed_app"

"""Schemathesis over the whole OpenAPI document, in process: no 5xx, and no answer that breaks its schema.

Run without a key and with an organisation's key, operation by operation and as chained scenarios
(links inferred from the schema: an event created, then read, changed and cancelled). Bounded and
derandomised so that it takes the same path, and about the same time, on every run.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BOUNDED = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# Loaded once, at collection: the document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _test_connection_kept():
    # A raw WSGI handler closes the connection after each request, which holds the test's transaction;
    # Django's test client disconnects these receivers for the same reason.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # Rate limits are tested elsewhere; here they would only hide the operations behind 429s.
    settings.TESSERA_MEETINGS = {
        "create_per_organiser": (10_000, 3600),
        "api_per_organisation": (10_000, 3600),
    }


@schema.parametrize()
@BOUNDED
def test_without_a_key(case):
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_with_an_organisation_key(case, api_key, card):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)


def test_chained_operations_with_an_organisation_key(api_key, card):
    workflow = schema.as_state_machine()
    key, answered = api_key, set()

    class Workflow(workflow):
        def before_call(self, case):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
            if case.method == "POST" and case.path.endswith("/events") and isinstance(case.body, dict):
                # Random dates are nearly all past or too far: move the date within the next year, so that
                # events get created and the links to them followed.
                case.body["starts_at"] = (
                    timezone.now() + timedelta(days=1 + len(str(case.body)) % 300)
                ).isoformat()

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            answered.add((case.method, case.path, response.status_code))
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The links were followed: real events and cards were read and changed, not only random ids refused.
    assert ("GET", "/api/v1/meetings/events/{event_id}", 200) in answered, sorted(answered)
    assert ("PATCH", "/api/v1/cards/{slug}", 200) in answered, sorted(answered)

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import isolate_apps

from tessera.privacy.register import Activity, LegalBasis, Registry, Retention, registry

CORE_APPS = {
    "admin",
    "auth",
    "contenttypes",
    "sessions",
    "account",
    "mfa",
    "socialaccount",
    "core",
    "accounts",
    "privacy",
}


def _activity(**overrides):
    values = dict(
        name="demo.activity",
        title="Demo",
        purpose="A purpose",
        legal_basis=LegalBasis.CONTRACT,
        data_subjects=("People",),
        data_categories=("Email",),
        fields={"accounts.User": ["email"]},
        recipients=("Staff",),
        retention=Retention(description="1 day"),
        security_measures=("TLS",),
    )
    values.update(overrides)
    return Activity(**values)


def test_registry_collects_the_activities_of_every_app_at_start_up():
    apps_with_activities = {a.app_label for a in registry.activities.values()}
    assert {"core", "accounts", "privacy"} <= apps_with_activities
    assert "core.security_log" in registry.activities
    assert all(a.legal_basis in LegalBasis.labels for a in registry.activities.values())


def test_every_field_that_can_hold_personal_data_is_declared():
    """Every model of every installed app: declared by an activity or marked non-personal."""
    offenders = registry.undeclared_fields()
    assert offenders == [], "Undeclared personal fields:\n" + "\n".join(offenders)


def test_django_allauth_and_core_models_are_all_declared():
    offenders = [o for o in registry.undeclared_fields() if o.split(".")[0] in CORE_APPS]
    assert offenders == [], "Undeclared personal fields:\n" + "\n".join(offenders)


def test_allauth_and_django_models_holding_personal_data_belong_to_an_activity():
    declared = registry.declared_fields()
    for label in [
        "account.EmailAddress",
        "mfa.Authenticator",
        "socialaccount.SocialAccount",
        "socialaccount.SocialToken",
        "sessions.Session",
        "admin.LogEntry",
    ]:
        assert declared.get(label), label


def test_coverage_names_a_field_nobody_declared():
    partial = Registry()
    for label, module in registry.modules.items():
        if label != "privacy":
            partial.add_module(label, module)
    offenders = partial.undeclared_fields()
    assert "privacy.RightsRequest.email" in offenders
    assert "privacy.ConsentRecord.text_hash" in offenders  # non-personal only by declaration
    assert "privacy.RightsRequest.due_at" not in offenders  # a date is not personal unless marked


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"legal_basis": "because"}, "legal_basis"),
        ({"purpose": ""}, "purpose"),
        ({"retention": None}, "retention"),
        ({"fields": {"accounts.User": ["shoe_size"]}}, "shoe_size"),
        ({"fields": {"accounts.Nope": ["email"]}}, "accounts.Nope"),
        ({"sub_processors": ("carrier-pigeon",)}, "sub_processors"),
    ],
)
def test_a_malformed_declaration_names_the_app_and_the_field(overrides, field):
    module = types.SimpleNamespace(activities=[_activity(**overrides)])
    with pytest.raises(ImproperlyConfigured) as error:
        Registry().add_module("demo", module)
    assert "demo.privacy" in str(error.value)
    assert field in str(error.value)


def test_a_malformed_non_personal_declaration_names_the_app_and_the_field():
    module = types.SimpleNamespace(non_personal={"core.OutboxMessage": ["colour"]})
    with pytest.raises(ImproperlyConfigured, match=r"demo\.privacy.*colour"):
        Registry().add_module("demo", module)


def test_start_up_stops_on_a_malformed_privacy_module(monkeypatch):
    import importlib

    real_import, real_find = importlib.import_module, importlib.util.find_spec
    bad = types.SimpleNamespace(activities=[_activity(legal_basis="vibes")])
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: True if name == "tessera.site.privacy" else real_find(name, *a),
    )
    monkeypatch.setattr(
        importlib,
        "import_module",
        lambda name, *a: bad if name == "tessera.site.privacy" else real_import(name, *a),
    )
    fresh = Registry()
    with pytest.raises(ImproperlyConfigured, match=r"site\.privacy.*legal_basis"):
        fresh.load()


# --- Coverage edge cases ---------------------------------------------------------------------------


def _offenders(registry_, *model_classes):
    return registry_.undeclared_fields(models_to_check=model_classes)


@isolate_apps("tests.privacy")
def test_a_field_of_any_type_marked_personal_must_be_declared():
    from django.db import models

    from tessera.privacy.register import personal

    class Visit(models.Model):  # noqa: DJ008
        seen_on = personal(models.DateField())  # the day someone came: personal here
        printed_on = models.DateField()  # a date alone is not personal unless marked
        attempts = personal(models.PositiveIntegerField(default=0))

        class Meta:
            app_label = "coverage_demo"

    fresh = Registry()
    assert _offenders(fresh, Visit) == ["coverage_demo.Visit.seen_on", "coverage_demo.Visit.attempts"]
    fresh.non_personal["coverage_demo.Visit"] = {"attempts"}
    fresh.activities["demo"] = _activity(fields={"coverage_demo.Visit": ["seen_on"]})
    assert _offenders(fresh, Visit) == []


@isolate_apps("tests.privacy")
def test_a_many_to_many_link_to_accounts_must_be_declared():
    from django.db import models

    from tessera.accounts.models import Organisation, User

    class Team(models.Model):  # noqa: DJ008
        people = models.ManyToManyField(User, related_name="+")
        sponsors = models.ManyToManyField(Organisation, related_name="+")  # companies: not people

        class Meta:
            app_label = "coverage_demo"

    class Seat(models.Model):  # noqa: DJ008
        team = models.ForeignKey(Team, on_delete=models.CASCADE)
        holder = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "coverage_demo"

    class Club(models.Model):  # noqa: DJ008
        members = models.ManyToManyField(User, through=Seat, related_name="+")

        class Meta:
            app_label = "coverage_demo"

    offenders = _offenders(Registry(), Team, Seat, Club)
    assert "coverage_demo.Team.people" in offenders
    assert "coverage_demo.Team.sponsors" not in offenders
    assert "coverage_demo.Seat.holder" in offenders  # the through model's link is checked instead
    assert "coverage_demo.Club.members" not in offenders


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"data_subjects": "People"}, "data_subjects"),
        ({"data_categories": "Email"}, "data_categories"),
        ({"recipients": "Staff"}, "recipients"),
        ({"security_measures": "TLS"}, "security_measures"),
        ({"sub_processors": "hosting"}, "sub_processors"),
        ({"fields": {"accounts.User": "email"}}, "fields"),
        ({"fields": ["accounts.User"]}, "fields"),
        ({"title": 5}, "title"),
        ({"sensitive_data": "no"}, "sensitive_data"),
        ({"transfers": ("United States",)}, "transfers"),
        ({"category_retention": {"Shoe size": "1 day"}}, "category_retention"),
        ({"retention": Retention(description="1 year", period=365)}, "retention.period"),
    ],
)
def test_a_declaration_of_the_wrong_type_names_the_app_and_the_field(overrides, field):
    module = types.SimpleNamespace(activities=[_activity(**overrides)])
    with pytest.raises(ImproperlyConfigured) as error:
        Registry().add_module("demo", module)
    assert "demo.privacy" in str(error.value)
    assert f"'{field}'" in str(error.value)


@pytest.mark.parametrize(
    ("declaration", "field"),
    [
        ({"non_personal": {"core.OutboxMessage": "kind"}}, "non_personal"),
        ({"non_personal": ["core.OutboxMessage"]}, "non_personal"),
        ({"not_exported": {"core.security_log": "Because"}}, "not_exported"),
        ({"export_subject": "not a function"}, "export_subject"),
    ],
)
def test_a_malformed_module_level_declaration_names_the_app_and_the_field(declaration, field):
    with pytest.raises(ImproperlyConfigured) as error:
        Registry().add_module("demo", types.SimpleNamespace(**declaration))
    assert "demo.privacy" in str(error.value) and field in str(error.value)


def test_start_up_refuses_a_malformed_privacy_module_naming_the_app_and_the_field():
    """A real start-up: `manage.py check` with a test app whose privacy.py is malformed."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--settings=tests.privacy.malformed_settings"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.privacy.malformed_settings"},
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "malformed_app.privacy" in result.stderr and "'data_subjects'" in result.stderr
    healthy = subprocess.run(
        [sys.executable, "manage.py", "check", "--settings=tessera.settings.test"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tessera.settings.test"},
    )
    assert healthy.returncode == 0, healthy.stderr[-2000:]

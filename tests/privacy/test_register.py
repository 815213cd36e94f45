import types

import pytest
from django.core.exceptions import ImproperlyConfigured

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

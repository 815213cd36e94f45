"""Every back-office page over personal data logs its reads (cards seed: "journalisation des accès")."""

from django.contrib import admin

from tessera.core.admin import ReadLoggedMixin
from tessera.privacy.register import registry


def test_every_admin_of_a_model_holding_personal_data_logs_its_reads():
    registry.load()
    declared = registry.declared_fields()
    unlogged = sorted(
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if model._meta.label in declared and not isinstance(model_admin, ReadLoggedMixin)
    )
    assert unlogged == []


def test_no_back_office_page_shows_a_sign_in_provider_s_tokens():
    assert "socialaccount.SocialToken" not in {model._meta.label for model in admin.site._registry}

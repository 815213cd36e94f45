from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class CardsConfig(AppConfig):
    name = "tessera.cards"
    label = "cards"
    verbose_name = _("Cards")

    def ready(self):
        from tessera.accounts import hooks
        from tessera.accounts.models import Organisation

        from . import profiles_read, services

        # The organisation writes live in accounts; what cards keeps per organisation and member follows them.
        hooks.organisation_created.connect(services.organisation_cards_open)
        hooks.membership_removing.connect(services.member_cards_release)
        # A directory (Entra ID, SCIM) feeds members' cards without importing cards.
        hooks.member_synced.connect(services.member_card_sync)
        hooks.directory_released.connect(services.directory_cards_release)
        hooks.organisation_templates.connect(services.organisation_templates_list)
        hooks.member_values_check.connect(services.member_values_check)
        hooks.members_created.connect(services.members_cards_create)
        hooks.members_synced.connect(services.members_cards_sync)
        hooks.member_profiles.connect(profiles_read.member_profiles)

        from .fastpath import pages_invalidate_on_commit
        from .models import Card, CardTemplate

        # Any change that can alter a public card page drops this process's pre-rendered pages.
        for model in (Card, CardTemplate, Organisation):
            for signal in (post_save, post_delete):
                signal.connect(pages_invalidate_on_commit, sender=model, dispatch_uid=f"cards-page-{model}")
        # A restriction of processing hides the owner's card at once in this process (the privacy core's
        # services send no signal of their own; other processes see it within the page TTL). A lift needs
        # nothing: a hidden card's 404 is never kept.
        from tessera.privacy.models import ProcessingLimit

        for signal in (post_save, post_delete):
            signal.connect(
                pages_invalidate_on_commit, sender=ProcessingLimit, dispatch_uid="cards-page-limit"
            )

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignaturesConfig(AppConfig):
    name = "tessera.signatures"
    label = "signatures"
    verbose_name = _("Email signatures")

    def ready(self):
        from tessera.accounts import hooks

        from .services import push

        hooks.member_profile_changed.connect(push.member_profile_changed)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "tessera.directory"
    label = "directory"
    verbose_name = _("Directory")

    def ready(self):
        from .services import signatures

        signatures.connect()

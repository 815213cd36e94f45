from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "tessera.directory"
    label = "directory"
    verbose_name = _("Directory")

    def ready(self):
        from tessera.accounts import hooks

        from .services import signatures, writeback

        signatures.connect()
        # An administrator's edit of directory-fed job details here goes back to Entra ID (write-back).
        hooks.directory_fields_edited.connect(writeback.writeback_queue_for_edit)

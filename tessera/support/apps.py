from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "tessera.support"
    label = "support"
    verbose_name = _("Support")

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_delete

        from tessera.accounts.models import Organisation

        from . import customer_services

        # A customer file outlives its organisation or account: their deletion ends the relationship.
        pre_delete.connect(
            customer_services.organisation_deleting, sender=Organisation, dispatch_uid="support.customer.org"
        )
        pre_delete.connect(
            customer_services.user_deleting, sender=get_user_model(), dispatch_uid="support.customer.user"
        )

"""Make a new SCIM bearer token for an organisation and print it (the previous one stops working)."""

from django.core.management.base import BaseCommand, CommandError

from tessera.accounts.models import Organisation
from tessera.directory.services.scim import scim_token_rotate


class Command(BaseCommand):
    help = "Print a new SCIM bearer token for the organisation; its previous token stops working."

    def add_arguments(self, parser):
        parser.add_argument("organisation", metavar="org-slug", help="The organisation's slug.")

    def handle(self, *args, organisation, **options):
        found = Organisation.objects.filter(slug=organisation).first()
        if found is None:
            raise CommandError(f"No organisation has the slug {organisation!r}.")
        # Only the clear token goes to stdout, so that a script can capture it; it is never stored.
        self.stdout.write(scim_token_rotate(organisation=found))

from django.core.management.base import BaseCommand, CommandError

from accounts.api_keys import ApiKeyError, api_key_create
from accounts.models import Organisation


class Command(BaseCommand):
    help = "Create an API key for an organisation and print it (only the key, shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The organisation's slug.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", required=True, help="Comma-separated, e.g. licences:read,slices:read")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, org, name, scopes, expires_days, **options):
        organisation = Organisation.objects.filter(slug=org).first()
        if organisation is None:
            raise CommandError(f"No organisation with slug {org!r}.")
        try:
            _, plaintext = api_key_create(organisation=organisation, by=None, name=name,
                                          scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                                          expires_days=expires_days)
        except ApiKeyError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(plaintext)

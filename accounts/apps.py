from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs):
    from accounts.roles import sync_role_groups

    sync_role_groups()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and organisations"

    def ready(self):
        # After licensing's migrations so that its permissions exist.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="tessera-sync-roles")

from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing"

    def ready(self):
        from licensing.api import (
            schema,  # noqa: F401  registers the API key scheme with drf-spectacular
        )

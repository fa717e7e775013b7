from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing"

    def ready(self):
        # Registers the API key scheme with drf-spectacular.
        # Registers the tasks in every process, not only in workers: the outbox hands jobs to them by name,
        # and in the embedded runtime runs them in-process.
        from licensing import tasks  # noqa: F401
        from licensing.api import schema  # noqa: F401

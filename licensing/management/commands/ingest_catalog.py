"""Bring a catalogue feed in from the command line: the same run, report and checks as the page."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from licensing.services.catalogue import (
    IngestRefused,
    catalogue_verify,
    ingest_run_create,
    ingest_run_execute,
)


class Command(BaseCommand):
    help = "Upsert a CSV or JSON Lines catalogue feed by external id, then verify the files it names."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--no-verify", action="store_true", help="Leave the file checks to the job.")

    def handle(self, *args, file, no_verify, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        try:
            with path.open("rb") as upload:
                run = ingest_run_create(upload=upload, by=None, file_name=path.name, schedule=False)
        except IngestRefused as refusal:
            raise CommandError(str(refusal)) from None
        run = ingest_run_execute(run_id=run.pk)
        if run.status == "failed":
            raise CommandError(run.failure_reason)
        if run.status == "verifying" and not no_verify:
            catalogue_verify(run_id=run.pk)
            run.refresh_from_db()
        self.stdout.write(f"Run {run.pk}: {run.rows:,} rows, {run.created:,} new, {run.changed:,} changed, "
                          f"{run.unchanged:,} unchanged, {run.rejected:,} rejected.")
        for rejection in run.rejections.all()[:200]:
            self.stdout.write(f"  line {rejection.line}: {rejection.reason}")
        if run.rejected > 200:
            self.stdout.write(f"  … and {run.rejected - 200:,} more on the run's page.")

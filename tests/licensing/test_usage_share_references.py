"""A report's shares name their report and contributor without a foreign key per row: a share naming either
that does not exist is refused, written by the ORM or by COPY, and a report or contributor that shares name
cannot be deleted by SQL."""
import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from licensing.models import Contributor, UsageReport, UsageShare
from tests.licensing.attribution_world import attribution_world, jsonl, output, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(org_a, alice):
    world = attribution_world(org_a, alice)
    processed = upload(world, jsonl([output("o-1", "100.00", {world.ann: 0.6, world.ben: 0.3})]))
    assert processed.status == "processed", processed.rejected_lines
    return processed


def share(report, **changes):
    values = {"report_id": report.pk, "contributor_id": Contributor.objects.create(display_name="Zoe").pk,
              "outputs": 1, "score_sum": 0.5, "shapley_sum": 0.5, "cents": 10, "top_line": 1, "top_output": "o-1",
              **changes}
    return UsageShare.objects.create(**values)


@pytest.mark.parametrize("column", ["report_id", "contributor_id"])
def test_a_share_naming_a_row_that_does_not_exist_is_refused(report, column):
    before = UsageShare.objects.count()
    with pytest.raises(IntegrityError, match=f"does not exist \\({column}\\)"), transaction.atomic():
        share(report, **{column: 987_654_321})
    assert UsageShare.objects.count() == before


def test_shares_copied_in_are_checked_too(report):
    # COPY through psycopg's own cursor: its error is psycopg's, not wrapped by Django.
    with pytest.raises(psycopg.IntegrityError, match="does not exist"), transaction.atomic(), \
            connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY {UsageShare._meta.db_table} (report_id, contributor_id, outputs, score_sum, shapley_sum, "
                "cents, top_line, top_output) FROM STDIN") as copy:
        copy.write(f"{report.pk}\t987654321\t1\t0.5\t0.5\t10\t1\to-9\n")
    assert UsageShare.objects.filter(report=report).count() == 2


def test_a_share_naming_existing_rows_is_written(report):
    written = share(report)
    assert UsageShare.objects.filter(pk=written.pk, report=report).exists()


def test_moving_a_share_to_a_report_that_does_not_exist_is_refused(report):
    first = UsageShare.objects.filter(report=report).first()
    with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
        UsageShare.objects.filter(pk=first.pk).update(report_id=987_654_321)
    assert UsageShare.objects.get(pk=first.pk).report_id == report.pk


def test_a_report_or_contributor_that_shares_name_cannot_be_deleted(report):
    scored = Contributor.objects.get(pk=UsageShare.objects.filter(report=report).first().contributor_id)
    with pytest.raises(ProtectedError):
        scored.delete()
    for table, row in ((Contributor._meta.db_table, scored.pk), (UsageReport._meta.db_table, report.pk)):
        with pytest.raises(IntegrityError, match="named by usage shares"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row])
    assert Contributor.objects.filter(pk=scored.pk).exists() and UsageReport.objects.filter(pk=report.pk).exists()


def test_a_contributor_no_share_names_can_still_be_deleted(report):
    nobody = Contributor.objects.create(display_name="Nobody")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Contributor._meta.db_table} WHERE id = %s", [nobody.pk])
    assert not Contributor.objects.filter(pk=nobody.pk).exists()

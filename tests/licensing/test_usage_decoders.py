"""A large usage report is decoded by decoder processes while the job books: it must book exactly what the
job's own reading books, name bad lines alike, and survive a decoder that dies half-way."""
import os
import signal

import numpy as np
import pytest

from licensing import tasks, usage_lines
from licensing.models import UsageReport, UsageShare
from licensing.services import attribution
from tests.conftest import ARTIFACTS, wait_for
from tests.licensing.attribution_world import attribution_world, jsonl, output, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org_a, alice):
    return attribution_world(org_a, alice)


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(attribution, "READ_BYTES", 400)  # a block of a few lines: dozens of them


@pytest.fixture
def answered(monkeypatch):
    """What the decoder processes answered, block by block (None for a block left to the careful path)."""
    seen, receive = [], usage_lines._Decoder.receive

    def recording(decoder):
        result = receive(decoder)
        seen.append(result)
        return result

    monkeypatch.setattr(usage_lines._Decoder, "receive", recording)
    return seen


def report_lines(world, count=120, seed=3):
    rng = np.random.default_rng(seed)
    people = (world.ann, world.ben, world.cat, world.dan)
    return [output(f"o-{n}", f"{rng.integers(1, 90_000) / 100:.2f}",
                   {c: round(float(rng.uniform(0, 1)), 4) for c in people if rng.uniform() < 0.7})
            for n in range(1, count + 1)]


def shares(report):
    return sorted(UsageShare.objects.filter(report=report).values_list(
        "contributor_id", "cents", "outputs", "score_sum", "shapley_sum", "top_line", "top_output"))


def booked_by(world, settings, body, *, decoders, reference):
    settings.ATTRIBUTION_DECODERS, settings.ATTRIBUTION_DECODERS_FROM_BYTES = decoders, 0
    return upload(world, body, reference=reference)


def same_booking(left, right):
    assert left.status == right.status == "processed", (left.rejected_lines, right.rejected_lines)
    assert (left.outputs, left.revenue, left.pool, left.attributed, left.zeroed_scores) == (
        right.outputs, right.revenue, right.pool, right.attributed, right.zeroed_scores)
    assert shares(left) == shares(right)


@pytest.mark.parametrize("on_disk", [True, False], ids=["read-by-the-decoders", "sent-through-the-pipe"])
def test_decoder_processes_book_to_the_cent_what_the_job_alone_books(world, settings, small_blocks, answered,
                                                                     monkeypatch, on_disk):
    if not on_disk:  # object storage: no path on this machine, so the blocks go through the pipe
        monkeypatch.setattr(attribution, "_local_path", lambda name: None)
    body = jsonl(report_lines(world))
    alone = booked_by(world, settings, body, decoders=0, reference="alone")
    assert not answered
    decoded = booked_by(world, settings, body, decoders=2, reference="decoded")
    assert len([result for result in answered if result is not None]) > 10
    same_booking(alone, decoded)


def test_blank_lines_carriage_returns_and_odd_lines_keep_their_numbers_through_the_decoders(
        world, settings, small_blocks, answered):
    lines = jsonl(report_lines(world)).splitlines(keepends=True)
    lines[10] = b"\n"  # a blank line: skipped, and the lines after it keep their numbers
    lines[40] = lines[40].replace(b"\n", b"\r\n")
    lines[70] = lines[70].replace(b'"output_id":"o-71"', b'"output_id":71')  # the careful path's
    body = b"".join(lines)
    alone = booked_by(world, settings, body, decoders=0, reference="alone")
    decoded = booked_by(world, settings, body, decoders=2, reference="decoded")
    assert None in answered and any(result is not None for result in answered)
    same_booking(alone, decoded)
    lines[99] = jsonl([output("o-100", "10.00", {world.ben: 1.5})])
    rejected = booked_by(world, settings, b"".join(lines), decoders=2, reference="numbered")
    assert [r["line"] for r in rejected.rejected_lines] == [100]  # counted past the blank line and the \r\n


def test_a_bad_line_read_by_a_decoder_is_named_with_its_number(world, settings, small_blocks, answered):
    lines = report_lines(world)
    lines[99] = output("o-100", "10.00", {world.ben: 1.5})
    report = booked_by(world, settings, jsonl(lines), decoders=2, reference="bad")
    assert answered
    assert report.status == "rejected"
    assert report.rejected_lines == [
        {"line": 100, "reason": f"score outside [0, 1]: 1.5 for contributor {world.ben.pk}"}]
    assert not UsageShare.objects.filter(report=report).exists()


def test_a_decoder_that_dies_half_way_loses_nothing(world, settings, small_blocks, monkeypatch):
    body = jsonl(report_lines(world, count=200))
    alone = booked_by(world, settings, body, decoders=0, reference="alone")
    killed, receive = [], usage_lines._Decoder.receive

    def dying(decoder):
        result = receive(decoder)
        if not killed:  # after the first answer, the first decoder is killed: its next block is read here
            os.kill(decoder.process.pid, signal.SIGKILL)
            decoder.process.wait()
            killed.append(decoder.process.pid)
        return result

    monkeypatch.setattr(usage_lines._Decoder, "receive", dying)
    decoded = booked_by(world, settings, body, decoders=2, reference="decoded")
    assert killed
    same_booking(alone, decoded)


def test_when_no_decoder_can_be_started_the_job_decodes_alone(world, settings, small_blocks, monkeypatch):
    def cannot_start(*args, **kwargs):
        raise OSError("no processes left")

    monkeypatch.setattr(usage_lines.subprocess, "Popen", cannot_start)
    body = jsonl(report_lines(world))
    alone = booked_by(world, settings, body, decoders=0, reference="alone")
    decoded = booked_by(world, settings, body, decoders=2, reference="decoded")
    same_booking(alone, decoded)


def test_decoder_processes_end_with_the_job(world, settings, small_blocks, monkeypatch):
    started = []
    original = usage_lines._Decoder.__init__

    def keeping(decoder, path):
        original(decoder, path)
        started.append(decoder.process)

    monkeypatch.setattr(usage_lines._Decoder, "__init__", keeping)
    report = booked_by(world, settings, jsonl(report_lines(world)), decoders=2, reference="ends")
    assert report.status == "processed"
    assert len(started) == 2 and all(process.poll() == 0 for process in started)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_s_pool_child_decodes_a_report_with_decoder_processes(celery_worker_process, org_a, alice,
                                                                           settings):
    world = attribution_world(org_a, alice)
    body = jsonl(report_lines(world, count=400))
    alone = booked_by(world, settings, body, decoders=0, reference="alone")
    report = upload(world, body, reference="worker", process=False)
    log = ARTIFACTS / "celery-worker.log"
    logged_before = log.stat().st_size
    tasks.process_usage_report.delay(report.pk)
    wait_for(lambda: UsageReport.objects.get(pk=report.pk).status not in ("received", "processing"), timeout=60,
             message="the report's job")
    same_booking(alone, UsageReport.objects.get(pk=report.pk))
    with log.open("rb") as handle:
        handle.seek(logged_before)
        logged = handle.read()
    assert b"usage_report_decoder" not in logged  # none failed to start, none was lost


@pytest.mark.parametrize("decoders", [0, 2], ids=["in-the-job", "by-decoders"])
def test_two_objects_on_one_line_are_not_taken_for_two_lines(world, settings, decoders):
    """JSON values are read one after another whatever the lines: an object that ends a line early and one
    spread over two lines would still make one record a line. The lines are named as the careful reader
    names them, and nothing is booked."""
    ann = world.ann.pk
    body = (b'{"output_id":"o-1","revenue":"1.00","scores":{"%d":0.5}}{"output_id":"o-2",\n'
            b'"revenue":"1.00","scores":{"%d":0.5}}\n'
            b'{"output_id":"o-3","revenue":"1.00","scores":{"%d":0.5}}\n') % (ann, ann, ann)
    report = booked_by(world, settings, body, decoders=decoders, reference="joined")
    assert report.status == "rejected"
    assert [r["line"] for r in report.rejected_lines] == [1, 2]
    assert all(r["reason"].startswith("bad JSON") for r in report.rejected_lines)


@pytest.mark.parametrize("decoders", [0, 2], ids=["in-the-job", "by-decoders"])
def test_a_revenue_with_more_than_eight_decimal_places_is_a_rejected_line(world, settings, decoders):
    """With at most eight places a report's revenue adds up exactly however its lines fall into blocks: one
    revenue of 999,999,999.004999999999999999 and three of 0.0000000000000000004 would otherwise round
    differently summed together or block by block."""
    lines = report_lines(world, count=30)
    lines[20] = output("o-21", "999999999.004999999999999999", {world.ann: 0.5})
    report = booked_by(world, settings, jsonl(lines), decoders=decoders, reference="places")
    assert report.status == "rejected"
    assert report.rejected_lines == [
        {"line": 21, "reason": "revenue 999999999.004999999999999999 has more than 8 decimal places"}]
    lines[20] = output("o-21", "12.12345678", {world.ann: 0.5})  # eight places: taken
    assert booked_by(world, settings, jsonl(lines), decoders=decoders, reference="eight").status == "processed"

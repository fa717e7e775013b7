"""Attribution royalties at scale: usage reports of 1,000,000 outputs × 10 scored contributors and of
100,000 outputs × 200, parsed, split by exact Shapley values and booked, against the pro-rata split
of the same pool in the same run.

The catalogue is the royalties benchmark's: 1,000,000 assets by 100,000 contributors, granted
whole to one commercial licence, whose model version is declared trained on that slice. Each
report is a JSONL file written to the default storage, uploaded through the service, processed
by what its job calls (read, check, Shapley in numpy batches, shares written, the usage invoice
issued), then its invoice is paid and the payment's pool created: the explained part split by
attribution, the rest pro rata to the 1,000,000 grants. The baseline is royalty_pool_create over
the same grants, for a payment whose pool is the same amount. The 1M report is booked three times
(under three references), each time followed by its baseline, so that a neighbour's load on this
shared machine weighs on both sides alike; the figures are the medians. Peak RSS (this process and its
decoder processes) is sampled while a report is processed, to show the memory does not grow with the report.
"""
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from unittest import mock

import numpy as np
import orjson

from bench.machine import load_note
from bench.measure import Figure, Report, Target, timed
from bench.serving import generate_catalogue

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "var" / "bench" / "attribution-data"
CATALOGUE = ["--assets", "1000000", "--contributors", "100000", "--opt-out-rate", "0", "--seed", "2"]
ROUNDS = 3  # of the 1M report, each followed by its baseline
REPORTS = [("attribution_1m_x10_s", 1_000_000, 10, 9973), ("attribution_100k_x200_s", 100_000, 200, 499)]
BIG = REPORTS[0][0]


@dataclass
class Booked:
    """One report booked: its steps' times (whole = process + payment + pool), the report, peak RSS."""

    upload_s: float
    process_s: float
    pool_s: float
    whole_s: float
    report: object
    peak_mb: float


class PeakRss:
    """The resident memory of this process and its children (the report's decoder processes), sampled every
    20 ms while the block runs: its highest, in MB."""

    def __init__(self):
        self.peak, self._running = 0, False

    @staticmethod
    def now():
        pids = ["self"]
        for task in Path("/proc/self/task").iterdir():
            try:
                pids += (task / "children").read_text().split()
            except OSError:
                pass
        pages = 0
        for pid in pids:
            try:
                pages += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
            except (OSError, IndexError):  # a child that has just ended
                pass
        return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20

    def _sample(self):
        while self._running:
            self.peak = max(self.peak, self.now())
            time.sleep(0.02)

    def __enter__(self):
        self._running, self.peak = True, self.now()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._running = False
        self._thread.join()
        self.peak = max(self.peak, self.now())


def write_report(path, outputs, players, stride, contributor_ids, seed):
    """A report of `outputs` lines, each scoring `players` distinct contributors; written in blocks."""
    rng = np.random.default_rng(seed)
    n = len(contributor_ids)
    block = max(1, 2_000_000 // players)
    with open(path, "wb") as handle:
        for start in range(0, outputs, block):
            rows = min(block, outputs - start)
            first = rng.integers(0, n, rows)
            positions = (first[:, None] + np.arange(players)[None, :] * stride) % n
            ids = contributor_ids[positions].astype(str).tolist()
            scores = np.round(rng.uniform(0, 0.5, (rows, players)), 4).tolist()
            cents = rng.integers(1, 10_000, rows).tolist()
            handle.write(b"".join(
                orjson.dumps({"output_id": f"out-{start + r}", "revenue": f"{cents[r] / 100:.2f}",
                              "scores": dict(zip(ids[r], scores[r]))}) + b"\n"
                for r in range(rows)))


def run():
    from django.core.files import File
    from django.core.files.storage import default_storage
    from django.db import connection
    from django.db.models import Sum
    from django.utils import timezone

    from bench.billing import commercial_licences
    from bench.licensees import applicant
    from bench.royalties import grant_whole_catalogue
    from licensing import jobs
    from licensing.models import (
        AIModel,
        Contributor,
        InvoiceReason,
        ModelVersion,
        RoyaltyEntry,
        Slice,
        TrainingDeclaration,
    )
    from licensing.services.attribution import attribution_pool_create, usage_report_process, usage_report_upload
    from licensing.services.billing import invoice_draft, invoice_issue, payment_record
    from licensing.services.royalties import royalty_pool_create

    generate_catalogue(CATALOGUE)
    user = applicant()
    (licence,) = commercial_licences(user, 1)
    seconds = grant_whole_catalogue(licence)
    slice_ = Slice.objects.get(licence=licence)
    model = AIModel.objects.create(organisation=licence.organisation, name="Bench Painter", slug="bench-painter",
                                   modality="image", purpose="Benchmarks.")
    version = ModelVersion.objects.create(model=model, label="1.0")
    TrainingDeclaration.objects.create(version=version, slice=slice_, item_count=slice_.asset_count)
    contributor_ids = np.fromiter(Contributor.objects.values_list("pk", flat=True), dtype=np.int64)
    print(f"  1,000,000 assets granted in {seconds:.1f} s to licence {licence.pk}, by {len(contributor_ids):,} "
          "contributors; version declared trained on the slice")
    notes = [load_note("at the start")]
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    figures, peaks, baseline = [], {}, []

    def prorata_split(pool_amount):
        """The baseline once: royalty_pool_create of a payment whose pool is `pool_amount`, over the same grants."""
        invoice = invoice_draft(licence=licence, reason=InvoiceReason.RENEWAL, currency="EUR",
                                lines=[("Baseline", Decimal("1"), pool_amount / Decimal("0.20"))])
        invoice = invoice_issue(invoice=invoice)
        payment = payment_record(invoice=invoice, by=None, amount=invoice.gross_total,
                                 received_on=timezone.now().date(), reference=f"BASE-{invoice.pk}")
        seconds, pool = timed(lambda: royalty_pool_create(payment_id=payment.pk))
        print(f"  pro-rata split of {pool.amount:,} EUR over {pool.contributor_count:,} contributors: {seconds:.3f} s")
        return seconds

    def book(path, reference):
        """Upload, process, pay and pool one report."""
        with open(path, "rb") as handle:
            upload_s, (report, _) = timed(lambda: usage_report_upload(
                version=version, upload=File(handle, name=path.name), reference=reference,
                period_start=date(2026, 7, 1), period_end=date(2026, 9, 30)))
        with PeakRss() as rss:
            started = time.perf_counter()
            process_s, processed = timed(lambda: usage_report_process(report_id=report.pk))
            if processed.status != "processed":
                raise RuntimeError(f"report {reference} was {processed.status}: {processed.rejected_lines[:3]}")
            invoice = processed.invoice
            payment = payment_record(invoice=invoice, by=None, amount=invoice.gross_total,
                                     received_on=timezone.now().date(), reference=f"BENCH-{invoice.pk}")
            pool_s, pool = timed(lambda: attribution_pool_create(payment_id=payment.pk))
            whole_s = time.perf_counter() - started
        booked = RoyaltyEntry.objects.filter(pool=pool).aggregate(t=Sum("amount"))["t"]
        if booked != processed.pool:
            raise RuntimeError(f"report {reference}: entries add up to {booked}, not the pool {processed.pool}")
        default_storage.delete(processed.file)  # hundreds of MB: the benchmark keeps none of its reports
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE licensing_royaltyentry")
        return Booked(upload_s, process_s, pool_s, whole_s, processed, rss.peak)

    # Jobs are run here, by hand, so that each step is timed alone. The big report and its baseline take turns,
    # ROUNDS times: on a shared machine, a neighbour's load then weighs on both sides alike.
    with mock.patch.object(jobs, "dispatch", lambda *args, **kwargs: 0):
        for key, outputs, players, stride in REPORTS:
            path = DATA_DIR / f"{key}.jsonl"
            seconds, _ = timed(lambda: write_report(path, outputs, players, stride, contributor_ids, seed=outputs))
            size = path.stat().st_size / 2 ** 20
            print(f"  {outputs:,} outputs × {players} written ({size:.0f} MB) in {seconds:.1f} s")
            runs = []
            for n in range(ROUNDS if key == BIG else 1):
                run = book(path, f"{key}-{n + 1}")
                runs.append(run)
                print(f"  {key} round {n + 1}: {run.whole_s:.2f} s (process {run.process_s:.2f} s, pool "
                      f"{run.pool_s:.2f} s; upload {run.upload_s:.2f} s), peak RSS {run.peak_mb:.0f} MB, "
                      f"{run.report.contributor_count:,} contributors, entries add up to the pool {run.report.pool:,}")
                if key == BIG:
                    baseline.append(prorata_split(run.report.pool))
            path.unlink()
            if key == BIG:
                big_runs = runs
            peaks[key] = max(run.peak_mb for run in runs)
            booked = runs[-1].report
            figures.append(Figure.median(key, [run.whole_s for run in runs], "s", (
                f"process (read, check, Shapley, {booked.contributor_count:,} shares, invoice) + payment + "
                f"pool; pool {booked.pool:,} EUR, {booked.attributed:,} by attribution")))
            figures.append(Figure.median(key.replace("_s", "_upload_s"), [run.upload_s for run in runs], "s",
                                         "upload: sha256 + stored"))
            figures.append(Figure.median(key.replace("_s", "_process_s"), [run.process_s for run in runs], "s",
                                         "the job: read, check, Shapley, shares, invoice"))
            figures.append(Figure.median(key.replace("_s", "_pool_s"), [run.pool_s for run in runs], "s",
                                         "the payment's pool: attribution entries + the pro-rata rest"))
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    figures.append(Figure.median("prorata_split_s", baseline, "s",
                                 "royalty_pool_create of the same pool, each right after a round of the 1M report"))
    figures.append(Figure("attribution_peak_rss_mb", max(peaks.values()), "MB",
                          note=", ".join(f"{k}: {v:.0f} MB" for k, v in peaks.items())))
    notes.append("1M report / the pro-rata split after it, by round: "
                 + ", ".join(f"{run.whole_s / split_s:.2f}x" for run, split_s in zip(big_runs, baseline)))
    notes.append(load_note("at the end"))
    report = Report(figures=figures, targets=[], notes=notes)
    big, prorata = report.figure("attribution_1m_x10_s"), report.figure("prorata_split_s")
    report.targets = [
        Target("attribution_1m_within_5x_prorata", "1M × 10 within 5× the pro-rata split of the same pool",
               f"{big:.2f} s = {big / prorata:.1f}× {prorata:.2f} s", big <= 5 * prorata),
        Target("attribution_1m_under_20s", "1M × 10 under 20 s", f"{big:.2f} s", big < 20),
        Target("attribution_memory_flat", "peak RSS of the 1M report within 1.5× the 100k one's",
               f"{peaks['attribution_1m_x10_s']:.0f} MB vs {peaks['attribution_100k_x200_s']:.0f} MB",
               peaks["attribution_1m_x10_s"] <= 1.5 * peaks["attribution_100k_x200_s"]),
    ]
    return report


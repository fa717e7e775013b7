"""The public model page of a version trained on 100,000 items of a 1,000,000-asset catalogue.

The page shows what trained each released version (works by kind, contributors, licence
phase, left out, withdrawn after training). The counts are taken when the declarations
change (declare_whole_slice_ms includes that count) and kept on the version; the page adds
the one count that moves later, the works withdrawn since, in one small aggregate query
over the withdrawn items. Its time is set against the licence page of the same licence, a
page of the same site that aggregates nothing, measured in the same run and interleaved.
Both are answered in-process by Django's test client (the whole middleware stack, no
network), DEBUG off.
"""
import statistics
import time

from bench.measure import Figure, Report, Target, timed
from bench.serving import generate_catalogue

CATALOGUE = ["--assets", "1000000", "--contributors", "100000", "--opt-out-rate", "0.01", "--seed", "1"]
SIZE = 100_000
SEED = 7
REPEATS = 9
WITHDRAWN = 500  # contributors who opt out after training: their works count as withdrawn after training


def run():
    from django.db import connection
    from django.test import Client

    from bench.licensees import applicant, jobs_not_dispatched, requested_slice
    from licensing.models import Contributor, SliceItem
    from licensing.services.ai_models import (
        ai_model_register,
        model_version_add,
        model_version_release,
        training_declare,
    )
    from licensing.services.contributors import contributor_set_opt_out
    from licensing.services.slices import slice_build

    generate_catalogue(CATALOGUE)
    user = applicant()
    slice_ = requested_slice(user, size=SIZE, seed=SEED)
    seconds, built = timed(lambda: slice_build(slice_id=slice_.pk))
    if built is None or built.asset_count != SIZE:
        raise RuntimeError(f"slice {slice_.pk} was not built with {SIZE} items")
    print(f"  slice of {SIZE:,} built in {seconds:.1f} s")
    model = ai_model_register(organisation=user.membership.organisation, by=user, name="Bench Model",
                              modality="both", purpose="Benchmark.", is_public=True)
    version = model_version_add(model=model, by=user, label="1.0")
    declared, _ = timed(lambda: training_declare(version=version, by=user, slice_id=slice_.pk))
    model_version_release(version=version, by=user)
    withdrawn_from = (SliceItem.objects.filter(slice=slice_).values_list("asset__contributor_id", flat=True)
                      .distinct().order_by("asset__contributor_id")[:WITHDRAWN])
    # The withdrawals are made by the service itself; the jobs they schedule (the slice's manifests and shards
    # written again, webhooks) stay in the outbox. Run in-process, one after each opt-out, they rewrote the
    # 100,000-item manifests 500 times, a quarter of an hour; on a worker, a run that finds the slice already
    # rewritten by an earlier one does nothing.
    with jobs_not_dispatched():
        for contributor in Contributor.objects.filter(pk__in=list(withdrawn_from)):
            contributor_set_opt_out(contributor=contributor, opted_out=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    page_path = f"/models/{model.organisation.slug}/{model.slug}/"
    licence_path = f"/licences/{slice_.licence_id}/"
    visitor, licensee = Client(), Client()
    licensee.force_login(user)
    for client, path in ((visitor, page_path), (licensee, licence_path)):  # warm-up, and the answers checked
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
    queries = []  # (seconds, sql) of each query the page runs; Django's query log is reset per request

    def watch(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((time.perf_counter() - started, sql))

    with connection.execute_wrapper(watch):
        page = visitor.get(page_path).content.decode()
    if '<dd class="images">' not in page:
        raise RuntimeError("the model page shows no counts")

    model_ms, licence_ms = [], []
    for _ in range(REPEATS):
        model_ms.append(1000 * timed(lambda: visitor.get(page_path))[0])
        licence_ms.append(1000 * timed(lambda: licensee.get(licence_path))[0])
        print(f"  model page {model_ms[-1]:.1f} ms, licence page {licence_ms[-1]:.1f} ms")

    report = Report(
        figures=[
            Figure.median("model_page_100k_ms", model_ms, "ms", f"GET {page_path}, one version of {SIZE:,} items"),
            Figure.median("licence_page_ms", licence_ms, "ms", "GET the licence's page, logged in (baseline)"),
            Figure("declare_whole_slice_ms", 1000 * declared, "ms", [1000 * declared],
                   "training_declare of the whole slice; once"),
        ],
        targets=[],
        notes=[f"the model page ran {len(queries)} queries; the slowest took {max(queries)[0] * 1000:.1f} ms",
               f"{WITHDRAWN} contributors opted out after the release: their works count as withdrawn after training"],
    )
    page_ms, baseline_ms = report.figure("model_page_100k_ms"), report.figure("licence_page_ms")
    report.targets = [
        Target("model_page_under_300ms", "model page of a 100k-item version under 300 ms",
               f"{page_ms:.1f} ms ({page_ms / baseline_ms:.1f}x the licence page)", page_ms < 300),
    ]
    print(f"  medians: model page {statistics.median(model_ms):.1f} ms, licence page "
          f"{statistics.median(licence_ms):.1f} ms")
    return report

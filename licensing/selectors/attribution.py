"""Reads of usage reports: the licensee's own, a contributor's part of them, and finance's totals."""
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.http import Http404

from licensing.models import Rightsholder, UsageReport, UsageShare
from licensing.models.ai_models import counted_items_cte, table_of
from licensing.spreadsheets import header

WHOLE_WORK = 10_000  # a work's whole rights, in hundredths of a percent (Rightsholder.share_bp)


def owners_with_rightsholders_sql():
    """(owner) The contributors scored in %(report)s who hold works with rightsholders: only their cents are
    shared out; every other contributor keeps all of theirs."""
    return (
        f"SELECT DISTINCT a.contributor_id AS owner FROM {Rightsholder._meta.db_table} r "
        f"JOIN {table_of('asset')} a ON a.id = r.asset_id "
        f"WHERE a.contributor_id IN (SELECT contributor_id FROM {UsageShare._meta.db_table} "
        f"WHERE report_id = %(report)s AND cents > 0)"
    )


def attributed_payee_weights_sql(owners_sql):
    """(owner_id, contributor_id, organisation_id, weight): for each contributor `owners_sql` selects (as
    `owner`), who is paid for their works that trained %(version)s, weighted as the pro-rata split weighs
    them: each work by its kind, its weight split by its rightsholders' shares, a work without rightsholders
    weighing wholly for its contributor. A contributor's attribution is their style's, and the works that
    carry it are those the model learnt it from: their rightsholders share it as they share the works."""
    image, video = int(settings.ROYALTY_KIND_WEIGHTS["image"]), int(settings.ROYALTY_KIND_WEIGHTS["video"])
    cte = counted_items_cte("v.id = %(version)s", contributor_filter=(
        f"AND i.asset_id IN (SELECT x.id FROM {table_of('asset')} x JOIN owners o ON o.owner = x.contributor_id)"))
    return f"""
        WITH owners AS ({owners_sql}), {cte},
        works AS (SELECT DISTINCT u.asset_id FROM used u WHERE u.counted = 1)
        SELECT a.contributor_id AS owner_id,
               CASE WHEN r.id IS NULL THEN a.contributor_id ELSE r.contributor_id END AS contributor_id,
               r.organisation_id,
               SUM((CASE WHEN a.kind = 'video' THEN {video} ELSE {image} END) * COALESCE(r.share_bp, {WHOLE_WORK}))
                   AS weight
        FROM works w JOIN {table_of('asset')} a ON a.id = w.asset_id
        LEFT JOIN {Rightsholder._meta.db_table} r ON r.asset_id = a.id
        GROUP BY 1, 2, 3
    """


def own_cents(*, share):
    """The cents of a contributor's share of a report that are theirs, the rest going to the other
    rightsholders of their works that trained the model: largest remainder over the payees, ties to
    contributors by id then organisations by id, as the payments split it."""
    if not Rightsholder.objects.filter(asset__contributor_id=share.contributor_id).exists():
        return share.cents
    sql = attributed_payee_weights_sql("SELECT CAST(%(owner)s AS bigint) AS owner")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"owner": share.contributor_id, "version": share.report.version_id})
        weights = [(contributor, organisation, int(weight)) for _, contributor, organisation, weight in
                   cursor.fetchall()]
    total = sum(weight for _, _, weight in weights)
    if not total:
        return share.cents
    floors = {(c, o): share.cents * w // total for c, o, w in weights}
    left = share.cents - sum(floors.values())
    ranked = sorted(weights, key=lambda row: (-(share.cents * row[2] % total), row[0] is None, row[0] or row[1]))
    for contributor, organisation, _ in ranked[:left]:
        floors[(contributor, organisation)] += 1
    return floors.get((share.contributor_id, None), 0)


def reports_of_version(*, version):
    return UsageReport.objects.filter(version=version).select_related("version__model")


def report_of_version(*, version, pk):
    """One of the version's reports: the version was already found among the caller's organisation's."""
    report = reports_of_version(version=version).filter(pk=pk).first()
    if report is None:
        raise Http404("No such usage report.")
    return report


def report_for_staff(*, pk):
    report = UsageReport.objects.select_related("version__model__organisation", "licence", "invoice").filter(
        pk=pk).first()
    if report is None:
        raise Http404("No such usage report.")
    return report


def reports_for_staff():
    return UsageReport.objects.select_related("version__model__organisation", "licence", "invoice")


def top_shares(*, report, limit=20):
    return list(UsageShare.objects.filter(report=report).select_related("contributor").order_by("-cents",
                                                                                               "contributor_id")[:limit])


def share_rows(*, report):
    """Every contributor's share of the report, for finance's CSV: streamed, biggest first."""
    yield header("contributor_id", "contributor", "outputs", "mean_score", "shapley_sum", "cents", "amount", "currency")
    shares = UsageShare.objects.filter(report=report).select_related("contributor").order_by("-cents",
                                                                                             "contributor_id")
    for share in shares.iterator(chunk_size=2000):
        yield [share.contributor_id, share.contributor.display_name, share.outputs, f"{share.mean_score:.4f}",
               f"{share.shapley_sum:.6f}", share.cents, f"{share.cents / 100:.2f}", report.currency]


def share_of_contributor(*, contributor, report_pk):
    """A contributor's share of a processed report; any other report is a 404."""
    share = UsageShare.objects.select_related("report__version__model__organisation", "report__licence").filter(
        contributor=contributor, report_id=report_pk, report__status="processed").first()
    if share is None:
        raise Http404("No such usage report among yours.")
    return share


@dataclass
class ReportLine:
    report_id: int
    reference: str
    model: str
    licensee: str
    period_start: object
    period_end: object
    outputs: int
    mean_score: float
    shapley_share: float
    cents: int
    currency: str
    own: int = None  # the cents that are theirs, when their works' other rightsholders share the rest

    @property
    def amount(self):
        return self.cents / 100


def contributor_report_lines(*, contributor, starts_at=None, ends_at=None):
    """Per processed report the contributor was scored in (processed within the bounds, when given): their
    outputs, mean score, mean Shapley share and cents of the report's pool."""
    shares = UsageShare.objects.filter(contributor=contributor, report__status="processed").select_related(
        "report__version__model__organisation")
    if starts_at is not None:
        shares = shares.filter(report__processed_at__gte=starts_at, report__processed_at__lt=ends_at)
    shared = reports_shared_with_rightsholders(contributor=contributor)
    return [
        ReportLine(report_id=s.report_id, reference=s.report.reference, model=s.report.version.versioned_name,
                   licensee=s.report.version.model.organisation.name, period_start=s.report.period_start,
                   period_end=s.report.period_end, outputs=s.outputs, mean_score=s.mean_score,
                   shapley_share=s.shapley_sum / s.outputs if s.outputs else 0.0, cents=s.cents,
                   currency=s.report.currency, own=own_cents(share=s) if s.report_id in shared else s.cents)
        for s in shares.order_by("-report__processed_at", "report_id")
    ]


def reports_shared_with_rightsholders(*, contributor):
    """The reports whose cents the contributor shares with other rightsholders of their works: none, unless
    some of their works have rightsholders."""
    if not Rightsholder.objects.filter(asset__contributor=contributor).exists():
        return set()
    return set(UsageShare.objects.filter(contributor=contributor, cents__gt=0).values_list("report_id", flat=True))


def report_totals(*, report):
    totals = UsageShare.objects.filter(report=report).aggregate(cents=Sum("cents"), outputs=Sum("outputs"))
    return {"cents": totals["cents"] or 0, "scored_outputs": totals["outputs"] or 0}

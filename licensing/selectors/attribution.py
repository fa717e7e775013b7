"""Reads of usage reports: the licensee's own, a contributor's part of them, and finance's totals."""
from dataclasses import dataclass

from django.db.models import Sum
from django.http import Http404

from licensing.models import UsageReport, UsageShare
from licensing.spreadsheets import header


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
    return [
        ReportLine(report_id=s.report_id, reference=s.report.reference, model=s.report.version.versioned_name,
                   licensee=s.report.version.model.organisation.name, period_start=s.report.period_start,
                   period_end=s.report.period_end, outputs=s.outputs, mean_score=s.mean_score,
                   shapley_share=s.shapley_sum / s.outputs if s.outputs else 0.0, cents=s.cents,
                   currency=s.report.currency)
        for s in shares.order_by("-report__processed_at", "report_id")
    ]


def report_totals(*, report):
    totals = UsageShare.objects.filter(report=report).aggregate(cents=Sum("cents"), outputs=Sum("outputs"))
    return {"cents": totals["cents"] or 0, "scored_outputs": totals["outputs"] or 0}

import structlog
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from licensing.selectors.catalogue import catalogue_numbers, sample_works
from licensing.selectors.previews import tile
from licensing.selectors.transparency import transparency_report

log = structlog.get_logger(__name__)


def home(request):
    report = transparency_report()
    contributors, opted_out = report["contributor_count"], report["opted_out_count"]
    return render(request, "home.html", {
        "numbers": catalogue_numbers(),
        "contributor_count": contributors,
        "opted_out_count": opted_out,
        "opted_out_percent": round(100 * opted_out / contributors, 1) if contributors else 0,
        "royalty_percent": int(settings.ROYALTY_SHARE * 100),
        "samples": [dict(tile(work, opted_out=False), plain=True) for work in sample_works(count=8)],
        "research_days": settings.RESEARCH_DEFAULT_DURATION_DAYS,
        "research_assets": settings.RESEARCH_DEFAULT_MAX_ASSETS,
    })


@never_cache
def healthz(request):
    """Liveness for load balancers: the database always, Redis when it is configured."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True, "engine": connection.vendor}
    except Exception as error:  # any failure means unhealthy; say which
        checks["database"] = {"ok": False, "error": str(error)}
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["redis"] = {"ok": True}
        except Exception as error:
            checks["redis"] = {"ok": False, "error": str(error)}
    healthy = all(check["ok"] for check in checks.values())
    if not healthy:
        log.warning("healthz_failed", checks=checks)
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503)

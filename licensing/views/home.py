import structlog
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from licensing.models import Asset, Contributor

log = structlog.get_logger(__name__)


def home(request):
    return render(
        request,
        "home.html",
        {
            "asset_count": Asset.objects.count(),
            "contributor_count": Contributor.objects.count(),
            "royalty_percent": int(settings.ROYALTY_SHARE * 100),
        },
    )


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

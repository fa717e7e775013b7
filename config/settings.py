"""Tessera settings: one module, driven by environment variables (django-environ).

The embedded default (no variables but DEBUG=1) runs on SQLite under var/, runs
Celery tasks in-process and prints e-mail to the console. Production sets
DATABASE_URL, REDIS_URL and CELERY_BROKER_URL; with DEBUG off the secret key and
the allowed hosts must come from the environment.
"""
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import environ
import orjson
import structlog
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="tessera-development-only-key-never-use-in-production-4f1c9a")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
else:
    # A production process must be told who it is: refusing to start beats
    # running with a guessable key or answering any Host header.
    if not env.str("SECRET_KEY", default=""):
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")
    if not env.list("ALLOWED_HOSTS", default=[]):
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set in the environment when DEBUG is off.")
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Tessera")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",
    "django_countries",
    "accounts",
    "licensing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that can refuse a request, so every answer (a 400 for an unknown Host too)
    # carries the request id and is logged with it.
    "config.logging.RequestLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session (it reads the language a visitor chose) and before CommonMiddleware.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Once the user is known: their saved language beats the browser's; the API always answers in English.
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "licensing.api.errors.ApiErrors",
]

ROOT_URLCONF = env.str("ROOT_URLCONF", default="config.urls")
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
                "accounts.context_processors.language",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tessera.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves a browser and an in-process job at once:
    # wait for the writer instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # The index slices walk carries columns beside its keys on PostgreSQL; SQLite keeps only the keys,
    # which is all its slices (always sorted) need.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    # A worker killed mid-statement leaves a session holding its locks until the server notices
    # the client is gone; check every few seconds so a redelivered job is not kept waiting.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c client_connection_check_interval=5000")
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Redis ------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured: the embedded default runs every task in-process.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="tessera")
# A request hands its jobs to the broker after commit; when the broker is down it must answer at once
# and leave the job to the outbox sweeper, not retry the publish while the person waits.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # Publishing opens its connection through kombu's default channel, which retries a refused
    # connection until the connection timeout (2 s a job) unless told not to; the publish retry
    # above does not cover it. The worker and beat connect with their own retry loops.
    "max_retries": 0,
    # Without it a broker that drops packets (host down, partition) holds the connect for the
    # kernel's SYN retries, about two minutes, past gunicorn's worker timeout.
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The outbox: a job not handed over this long after it was written, or handed over and not done
# within the lease, is handed over again by the sweeper (every JOB_SWEEP_SECONDS).
JOB_DISPATCH_GRACE_SECONDS = env.int("JOB_DISPATCH_GRACE_SECONDS", default=10)
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=90)
# After a connection to the broker failed, a process leaves its jobs to the sweeper this long without
# asking again: a request that schedules several jobs, or a batch, pays for one failed connect at most.
JOB_BROKER_PAUSE_SECONDS = env.float("JOB_BROKER_PAUSE_SECONDS", default=5.0)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "expire-licences": {"task": "licensing.tasks.expire_licences", "schedule": timedelta(minutes=15)},
    "remind-expiring-licences": {"task": "licensing.tasks.remind_expiring_licences", "schedule": timedelta(hours=6)},
    "sweep-jobs": {"task": "licensing.tasks.sweep_jobs", "schedule": timedelta(seconds=env.int("JOB_SWEEP_SECONDS", default=30))},
    "issue-renewal-invoices": {"task": "licensing.tasks.issue_renewal_invoices", "schedule": timedelta(hours=1)},
    "dunning": {"task": "licensing.tasks.run_dunning", "schedule": timedelta(hours=1)},
}

# --- Auth and accounts ----------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Tessera] "
# Links in account e-mails come from SITE_URL (accounts/adapter.py); anything allauth still builds
# from the request uses the same scheme.
ACCOUNT_DEFAULT_HTTP_PROTOCOL = urlparse(SITE_URL).scheme or "https"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {
    "signup": "accounts.forms.SignupForm",
    "login": "accounts.forms.LoginForm",
    "reset_password": "accounts.forms.ResetPasswordForm",
}
ACCOUNT_SIGNUP_REDIRECT_URL = "accounts:organisation_create"

# --- E-mail ---------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Tessera <no-reply@tessera.example>")

# --- Internationalisation -------------------------------------------------
# A signed-in user's saved language, else the browser's Accept-Language, else English
# (accounts/middleware.py). English keeps the British formats (config/formats/en).
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("it", "Italiano"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files -----------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)
# Object storage (S3 or compatible) for catalogue files and shards, when a bucket is named.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
    AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
    AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
    AWS_DEFAULT_ACL = None
    AWS_S3_FILE_OVERWRITE = True
    AWS_QUERYSTRING_AUTH = True
# Presigned storage links live minutes: Tessera's own signed link is what a manifest hands out.
AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=600)
# Downloads answer with a redirect to the storage's (presigned) URL instead of passing the bytes through.
SLICE_DOWNLOADS_REDIRECT = env.bool("SLICE_DOWNLOADS_REDIRECT", default=bool(AWS_STORAGE_BUCKET_NAME))
# With a front server (nginx) that serves MEDIA_ROOT from an internal location, downloads answer
# with X-Accel-Redirect to this prefix + the file's storage key, and nginx sends the bytes.
SENDFILE_X_ACCEL_PREFIX = env.str("SENDFILE_X_ACCEL_PREFIX", default="")

# --- Security (what `manage.py check --deploy` asks for when DEBUG is off) ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
X_FRAME_OPTIONS = "DENY"
# Every script and stylesheet is a file served from here: an injected <script>, style
# attribute or on…= handler does not run. Images may be data: URIs because the vendored
# stylesheets (Pico's form controls, Swagger UI's icons) draw with inline SVG.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        "style-src": [CSP_SELF],
        "img-src": [CSP_SELF, "data:"],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    },
}

# --- REST framework and OpenAPI --------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["licensing.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["licensing.api.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["drf_orjson_renderer.renderers.ORJSONRenderer"],
    # Field errors of a list are keyed by position (0, 1, …): JSON writes those keys as strings.
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_NON_STR_KEYS,),
    "DEFAULT_PARSER_CLASSES": [
        "licensing.api.parsers.ApiJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "licensing.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "api-read": env.str("API_THROTTLE_READ", default="1200/min"),
        "api-write": env.str("API_THROTTLE_WRITE", default="120/min"),
    },
    "UNAUTHENTICATED_USER": None,
}
# A request body larger than this under /api/v1/ is refused with a 413 before it is read; every
# request the API takes is a few hundred bytes of JSON.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
# Except a usage report: one line per output, a million outputs a few hundred MB.
USAGE_REPORT_MAX_BYTES = env.int("USAGE_REPORT_MAX_BYTES", default=4 * 1024**3)
# Processes that decode a large usage report's lines while the job books those already decoded; 0 decodes
# everything in the job's own process. Two on two cores: the job's own work is about half the decoders'.
ATTRIBUTION_DECODERS = env.int("ATTRIBUTION_DECODERS", default=2 if (os.cpu_count() or 1) > 1 else 0)
# From this size on: below it, starting them costs more than they save.
ATTRIBUTION_DECODERS_FROM_BYTES = env.int("ATTRIBUTION_DECODERS_FROM_BYTES", default=64 * 1024**2)
SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": "Research and commercial licences for AI training data: licences, slices, manifests, invoices.\n\n"
                   "The API answers in English whatever the request's Accept-Language: its messages and labels "
                   "are the same for every client, and the web pages are where Tessera speaks German, Italian "
                   "and Arabic.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "ENUM_NAME_OVERRIDES": {
        "AssetKindEnum": "licensing.models.catalog.Asset.Kind",
        "InvoiceKindEnum": "licensing.models.billing.InvoiceKind",
        "UsageReportStatusEnum": "licensing.models.attribution.UsageReportStatus",
        "UsageReportFormatEnum": "licensing.models.attribution.UsageReportFormat",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "licensing.api.schema.document_page_refusals",
    ],
}

# --- Licensing policy -----------------------------------------------------
LICENSOR_NAME = env.str("LICENSOR_NAME", default="Tessera Licensing")
LICENSOR_LEGAL_NAME = env.str("LICENSOR_LEGAL_NAME", default="Tessera Licensing GmbH")
LICENSOR_ADDRESS = env.str("LICENSOR_ADDRESS", default="Friedrichstraße 100\n10117 Berlin\nGermany")
LICENSOR_COUNTRY = env.str("LICENSOR_COUNTRY", default="DE")
LICENSOR_VAT_ID = env.str("LICENSOR_VAT_ID", default="DE999999999")
# Where buyers pay: printed on every invoice (kept in its issued snapshot).
LICENSOR_BANK_NAME = env.str("LICENSOR_BANK_NAME", default="Berliner Sparkasse")
LICENSOR_IBAN = env.str("LICENSOR_IBAN", default="DE89 3704 0044 0532 0130 00")
LICENSOR_BIC = env.str("LICENSOR_BIC", default="BELADEBEXXX")
INVOICE_SERIES = env.str("INVOICE_SERIES", default="INV")
CREDIT_NOTE_SERIES = env.str("CREDIT_NOTE_SERIES", default="CRN")
INVOICE_TAX_RATE = Decimal(env.str("INVOICE_TAX_RATE", default="19.00"))
PAYMENT_TERMS_DAYS = env.int("PAYMENT_TERMS_DAYS", default=14)
DUNNING_SECOND_REMINDER_DAYS = env.int("DUNNING_SECOND_REMINDER_DAYS", default=7)
DUNNING_SUSPEND_DAYS = env.int("DUNNING_SUSPEND_DAYS", default=14)
RESEARCH_FEE = Decimal(env.str("RESEARCH_FEE", default="0"))
RESEARCH_FEE_CURRENCY = env.str("RESEARCH_FEE_CURRENCY", default="EUR")
RESEARCH_DEFAULT_MAX_ASSETS = env.int("RESEARCH_DEFAULT_MAX_ASSETS", default=5000)
RESEARCH_DEFAULT_MAX_BYTES = env.int("RESEARCH_DEFAULT_MAX_BYTES", default=5 * 1024**3)
RESEARCH_DEFAULT_MAX_SLICES = env.int("RESEARCH_DEFAULT_MAX_SLICES", default=10)
RESEARCH_DEFAULT_DURATION_DAYS = env.int("RESEARCH_DEFAULT_DURATION_DAYS", default=180)
LICENCE_EXPIRY_REMINDER_DAYS = env.int("LICENCE_EXPIRY_REMINDER_DAYS", default=14)
SLICE_LINK_TTL_SECONDS = env.int("SLICE_LINK_TTL_SECONDS", default=24 * 3600)
SLICE_MAX_SIZE = env.int("SLICE_MAX_SIZE", default=1_000_000)
# A ready slice is also written as WebDataset tar shards: a shard ends before it would pass
# this many bytes of files, or at this many items (0: no item limit).
SLICE_SHARD_MAX_BYTES = env.int("SLICE_SHARD_MAX_BYTES", default=1024**3)
SLICE_SHARD_MAX_ITEMS = env.int("SLICE_SHARD_MAX_ITEMS", default=0)
# The withdrawals feed lists withdrawals at least this old, so that one committed late with an
# earlier timestamp is not passed by a cursor.
WITHDRAWALS_FEED_SETTLE_SECONDS = env.int("WITHDRAWALS_FEED_SETTLE_SECONDS", default=5)
# Webhooks: endpoints on private, loopback or link-local addresses are refused unless allowed.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
WEBHOOKS_REQUIRE_HTTPS = env.bool("WEBHOOKS_REQUIRE_HTTPS", default=not DEBUG)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# After a secret is rotated, the old one still signs (a second signature) for this long.
WEBHOOK_SECRET_OVERLAP_SECONDS = env.int("WEBHOOK_SECRET_OVERLAP_SECONDS", default=24 * 3600)
ROYALTY_SHARE = Decimal(env.str("ROYALTY_SHARE", default="0.20"))
TDM_POLICY_URL = env.str("TDM_POLICY_URL", default="")
# Where crawlers and agents ask about licences: named in the RSL licence document (/license.xml).
LICENSING_CONTACT = env.str("LICENSING_CONTACT", default="licensing@tessera.example")
TRANSPARENCY_CACHE_SECONDS = env.int("TRANSPARENCY_CACHE_SECONDS", default=300)
# How much one granted asset of each kind weighs in the split of a royalty pool.
ROYALTY_KIND_WEIGHTS = {
    "image": env.int("ROYALTY_WEIGHT_IMAGE", default=1),
    "video": env.int("ROYALTY_WEIGHT_VIDEO", default=5),
}

# --- Logging (structlog, JSON lines in production) --------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
_shared_processors = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "()": structlog.stdlib.ProcessorFormatter,
            # A JSON line carries the traceback as text: rendered as is, exc_info is only the exception's repr.
            "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                           structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
            if LOG_FORMAT == "json"
            else [structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                  structlog.dev.ConsoleRenderer(colors=False)],
            "foreign_pre_chain": _shared_processors,
        },
    },
    "filters": {"refusals_without_traceback": {"()": "config.logging.RefusalsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured",
                             "filters": ["refusals_without_traceback"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
    },
}
structlog.configure(
    processors=[*_shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)

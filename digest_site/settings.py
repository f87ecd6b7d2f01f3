"""One settings module for every environment, driven by environment variables.

With no environment set, the service runs on one machine with nothing installed: SQLite under
var/, Celery tasks executed in-process and emails written as .eml files to var/outbox/. Production
services (PostgreSQL, Redis, a real email provider) come from environment variables only; the
README lists every variable.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file is optional; real environment variables always win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# Local state of the embedded default: SQLite database, outbox, model artifacts.
VAR_DIR = Path(env.str("DIGEST_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The default key only exists so the embedded default runs; `check --deploy` flags it (W009)
# because of its "django-insecure-" prefix, so production must set DJANGO_SECRET_KEY.
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="django-insecure-local-only-do-not-use-in-production-7f3a"
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])


def _runserver_url(argv: list[str]) -> str:
    """Where `manage.py runserver [addr:]port` listens, so the emails it sends on the embedded
    default link back to it (port 8000 unless told otherwise)."""
    if len(argv) < 2 or argv[1] != "runserver":
        return "http://127.0.0.1:8000"
    addrport = next((arg for arg in argv[2:] if not arg.startswith("-")), "8000")
    host, _, port = addrport.rpartition(":")
    if not port.isdigit():
        host, port = addrport, "8000"
    if host in ("", "0", "0.0.0.0", "[::]"):  # noqa: S104 (reading an address, not binding)
        host = "127.0.0.1"
    return f"http://{host}:{port}"


# Absolute base URL used to build links inside emails (confirmation, preferences, feedback).
SITE_URL = env.str("SITE_URL", default=_runserver_url(sys.argv)).rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Paper Digest")

INSTALLED_APPS = [
    # Django's admin with this project's site (dashboard, audit log): console/apps.py.
    "console.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    # Audit log of every change to the models staff edit (console/audit.py registers them).
    "auditlog",
    # Login attempts limited per account and per client IP (the admin's login form).
    "axes",
    "accounts",
    "recommender",
    "console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Sets the audit log's actor (and remote address) from the signed-in staff member.
    "auditlog.middleware.AuditlogMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out account or address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "digest_site.urls"
WSGI_APPLICATION = "digest_site.wsgi.application"

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
                "digest_site.context_processors.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite cannot create the folder its file lives in; a fresh clone has no var/ yet.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections: Celery and web workers reuse them instead of reconnecting per request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The web server has no time limit per request (README "Known limitations"): a database
    # that stops answering must fail the request, not hold its worker. connect_timeout bounds
    # reaching the server; a statement timeout (compose sets one for the web service only:
    # Celery's refit and ingestion run long statements on purpose) bounds each query.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT_SECONDS", default=10))
    statement_timeout = env.float("DATABASE_STATEMENT_TIMEOUT_SECONDS", default=0)
    if statement_timeout > 0:
        options["options"] = f"-c statement_timeout={int(statement_timeout * 1000)}"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and shared cache ----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# A Redis that stops answering fails the call after this long instead of holding the request
# (or task) forever: options of every Redis client (the cache's and accounts/ratelimit.py's).
_redis_timeout = env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=5.0)
REDIS_CLIENT_OPTIONS = {"socket_timeout": _redis_timeout, "socket_connect_timeout": _redis_timeout}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="digest"),
            "OPTIONS": REDIS_CLIENT_OPTIONS,
        }
    }
else:
    # One process's memory. Built profiles are cached one per subscriber: Django's default of
    # 300 entries would evict most of them on a larger install and rebuild them every run.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": env.int("LOCAL_CACHE_MAX_ENTRIES", default=20_000)},
        }
    }

# --- Celery -----------------------------------------------------------------------------------
# Without a broker the tasks run in-process (eagerly), so the embedded default needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
# Loss-free work (docs/operations.md "Delivery guarantees"). Every task is idempotent (unique
# constraints and conditional updates guard each state change), so running one twice is safe
# and losing one is the only failure that matters:
# - acknowledge after the task finishes, and put the message back when the process running it
#   dies (the OOM killer, a SIGKILL), instead of recording WorkerLostError and dropping it;
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# - one message reserved per worker process, so a worker that dies holds nothing else hostage;
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# - a task that hangs must not hold a worker slot forever: the soft limit raises
#   SoftTimeLimitExceeded inside it (the digest chunk re-queues its unfinished remainder and
#   stops), the hard limit kills the process a minute later;
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=15 * 60)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# - Redis hands an unacknowledged message to another worker after the visibility timeout (a
#   whole worker gone). Longer than the hard limit, or a task still running would be started a
#   second time; countdowns (retry back-off) stay below it too. The ledger's reconciliation
#   (recommender.tasks.reconcile_digests) re-queues digests long before it, so this is the
#   broker's own backstop, not the delay a lost digest waits;
BROKER_VISIBILITY_TIMEOUT_SECONDS = CELERY_TASK_TIME_LIMIT + 5 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT_SECONDS,
    # RabbitMQ (CELERY_BROKER_URL=amqp://...): publisher confirms, so a publish returns only
    # once the broker has the message. Redis's LPUSH is confirmed by its reply already.
    "confirm_publish": True,
}
# - a broker that goes away is waited for, forever: the worker reconnects and keeps consuming
#   (celery/kombu pinned in requirements.txt for this), and publishing retries a few times
#   before it raises (dispatch then leaves the digests to reconciliation);
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env.int("CELERY_PUBLISH_MAX_RETRIES", default=4),
    "interval_start": 0,
    "interval_step": 1,
    "interval_max": 2,
}
# - a task running when the connection drops is left to finish: its message is restored to the
#   queue by the broker, and the rerun finds every digest it finished already sent.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# - a pool child whose resident memory passes this (KiB) is replaced once its task is done: a
#   backstop against a leak, well above the 410 MiB a child holds with the model loaded and a
#   chunk done on a 70,000-paper corpus (docs/benchmarks.md "Worker memory"; digest_site/celery.py
#   keeps freed memory from staying in the process). The optional sentence encoder
#   (RECOMMENDER_EMBEDDINGS) adds about 430 MiB to a child that ranks (bench/embedding_cost.py):
#   without more room every child would be replaced after each task and load it again.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = (
    env.int(
        "CELERY_WORKER_MAX_MEMORY_MIB",
        default=1280 if env.str("RECOMMENDER_EMBEDDINGS", default="") else 768,
    )
    * 1024
)
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_RESULT_BACKEND_MAX_RETRIES = 10
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Sign-ups wait in a Redis list (accounts/signups.py); the first of a batch wakes a drain.
    # This sweep drains whatever a failed wake-up or a worker that died left there.
    "drain-sign-ups": {
        "task": "accounts.tasks.drain_signups",
        "schedule": env.float("SIGNUP_SWEEP_EVERY_SECONDS", default=60),
    },
    # Subscribers have their own send hour and timezone, so the dispatcher wakes often and
    # only picks those whose next digest is due.
    "dispatch-due-digests": {
        "task": "recommender.tasks.dispatch_due_digests",
        "schedule": env.float("DIGEST_DISPATCH_EVERY_SECONDS", default=15 * 60),
    },
    # The ledger's owner of last resort: re-queues digests whose holder went silent (a killed
    # worker, a lost message, a broker that was down) and retries empty periods once papers
    # arrive (recommender/delivery/scheduling.py reconcile).
    "reconcile-digests": {
        "task": "recommender.tasks.reconcile_digests",
        "schedule": env.float("DIGEST_RECONCILE_EVERY_SECONDS", default=120),
    },
    # Nightly refit of the recommender's features on the stored corpus (new papers in between
    # are transformed with the current model, no refit needed).
    "refit-recommender-model": {
        "task": "recommender.tasks.refit_model",
        "schedule": crontab(minute=30, hour=env.int("RECOMMENDER_REFIT_HOUR_UTC", default=3)),
    },
    # Then every active subscriber's profile is built for the new model, so the morning's
    # digests find them cached (the refit changes every cache key). Minutes past the refit hour:
    # leave the refit time to finish (2-4 minutes on 75,000 papers).
    "warm-subscriber-profiles": {
        "task": "recommender.tasks.warm_profiles",
        "schedule": crontab(
            minute=env.int("PROFILE_WARM_MINUTE", default=50),
            hour=env.int("RECOMMENDER_REFIT_HOUR_UTC", default=3),
        ),
    },
    # Data kept only as long as needed: sign-ups and address changes never confirmed.
    "purge-expired-requests": {
        "task": "accounts.tasks.purge_expired_requests",
        "schedule": crontab(minute=15, hour=4),
    },
    # New papers from the live sources (Hugging Face Daily Papers, arXiv), once a day.
    "fetch-daily-papers": {
        "task": "recommender.tasks.fetch_daily_papers",
        "schedule": crontab(minute=0, hour=env.int("INGEST_FETCH_HOUR_UTC", default=6)),
    },
}

# --- Email ------------------------------------------------------------------------------------
# EMAIL_PROVIDER picks the backend: "file" (default: .eml files in EMAIL_OUTBOX_DIR), "console",
# "smtp" (EMAIL_URL, e.g. smtp://user:pass@host:1025) or any django-anymail provider by name
# ("postmark", "mailgun", "amazon_ses", ...) with its keys as ANYMAIL_<PROVIDER>_<SETTING>.
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="file").strip().lower()
EMAIL_OUTBOX_DIR = Path(env.str("EMAIL_OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
ANYMAIL_PROVIDERS = (
    "amazon_ses",
    "brevo",
    "mailersend",
    "mailgun",
    "mailjet",
    "mailtrap",
    "mandrill",
    "postal",
    "postmark",
    "resend",
    "scaleway",
    "sendgrid",
    "sparkpost",
    "unisender_go",
)
if EMAIL_PROVIDER == "file":
    EMAIL_BACKEND = "digest_site.mailing.backends.OutboxBackend"
elif EMAIL_PROVIDER == "console":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
elif EMAIL_PROVIDER == "smtp":
    vars().update(env.email_url("EMAIL_URL", default="smtp://127.0.0.1:1025"))
    if EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
        # The same backend, writing our messages' bytes itself (digest_site/mailing/wire.py).
        EMAIL_BACKEND = "digest_site.mailing.smtp.EmailBackend"
elif EMAIL_PROVIDER in ANYMAIL_PROVIDERS:
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
else:
    raise ImproperlyConfigured(
        f"EMAIL_PROVIDER={EMAIL_PROVIDER!r} is not known; use file, console, smtp or one of: "
        + ", ".join(ANYMAIL_PROVIDERS)
    )
# Every ANYMAIL_* variable (e.g. ANYMAIL_POSTMARK_SERVER_TOKEN) becomes an Anymail setting.
# ANYMAIL_WEBHOOK_SECRET ("user:password") authenticates the provider webhooks at
# /anymail/<esp>/tracking/ (give the provider https://user:password@host/anymail/...); without
# it the webhooks refuse every event (digest_site/mailing/webhooks.py).
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in env.ENVIRON.items()
    if key.startswith("ANYMAIL_") and value
}
# Provider feedback: soft bounces (mailbox full, greylisting) suppress an address once this
# many arrive within this many days; hard bounces and complaints suppress at once.
SOFT_BOUNCE_SUPPRESS_AFTER = env.int("SOFT_BOUNCE_SUPPRESS_AFTER", default=3)
SOFT_BOUNCE_WINDOW_DAYS = env.int("SOFT_BOUNCE_WINDOW_DAYS", default=7)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Paper Digest <digest@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# --- Delivery ---------------------------------------------------------------------------------
# The digest ledger (docs/operations.md "Delivery guarantees"). A digest handed to the queue or
# to a worker's chunk is theirs for DIGEST_LEASE_SECONDS (a running chunk renews it); one being
# sent, for DIGEST_SENDING_LEASE_SECONDS. Past a lease, reconciliation (beat, every
# DIGEST_RECONCILE_EVERY_SECONDS) re-queues the digest.
DIGEST_LEASE_SECONDS = env.int("DIGEST_LEASE_SECONDS", default=5 * 60)
DIGEST_SENDING_LEASE_SECONDS = env.int("DIGEST_SENDING_LEASE_SECONDS", default=5 * 60)
DIGEST_RECONCILE_EVERY_SECONDS = env.float("DIGEST_RECONCILE_EVERY_SECONDS", default=120)
# Transient failures (SMTP 4xx, connection errors, timeouts, provider 429/5xx) are retried per
# digest after base x 2^(attempt-1) seconds (capped, and at most the broker's visibility
# timeout), with random jitter of up to half of it, until DIGEST_MAX_ATTEMPTS sends failed.
DIGEST_MAX_ATTEMPTS = env.int("DIGEST_MAX_ATTEMPTS", default=6)
DIGEST_RETRY_BASE_SECONDS = env.float("DIGEST_RETRY_BASE_SECONDS", default=60)
DIGEST_RETRY_MAX_SECONDS = min(
    env.float("DIGEST_RETRY_MAX_SECONDS", default=30 * 60), BROKER_VISIBILITY_TIMEOUT_SECONDS
)
# A period skipped for lack of new papers is built again when papers arrive within this many
# hours of its send time; after that the skip is final.
DIGEST_SEND_WINDOW_HOURS = env.float("DIGEST_SEND_WINDOW_HOURS", default=12)
# An open digest this many hours past its send time is given up (FAILED, with the reason), so
# an outage of days does not end in a flood of stale digests.
DIGEST_GIVE_UP_AFTER_HOURS = env.float("DIGEST_GIVE_UP_AFTER_HOURS", default=48)
# /healthz and `manage.py delivery_status` call a digest overdue this long after its send time
# (still not sent, failed or skipped), and a due subscriber not yet claimed as well.
DIGEST_OVERDUE_MINUTES = env.float("DIGEST_OVERDUE_MINUTES", default=60)

# --- Recommender ------------------------------------------------------------------------------
# The tuning knobs live in their own module (its __all__ lists them).
from .recommender_settings import *  # noqa: E402, F403

# --- Subscription flow ------------------------------------------------------------------------
# Signed links in emails: how long each kind stays valid. Unsubscribe links live long because
# people unsubscribe from old emails; confirmation links are short because they activate mail.
CONFIRM_LINK_MAX_AGE_DAYS = env.int("CONFIRM_LINK_MAX_AGE_DAYS", default=3)
PREFERENCES_LINK_MAX_AGE_DAYS = env.int("PREFERENCES_LINK_MAX_AGE_DAYS", default=30)
UNSUBSCRIBE_LINK_MAX_AGE_DAYS = env.int("UNSUBSCRIBE_LINK_MAX_AGE_DAYS", default=400)
FEEDBACK_LINK_MAX_AGE_DAYS = env.int("FEEDBACK_LINK_MAX_AGE_DAYS", default=90)
# "View in browser" links of digests (emails, the feed, the preferences page's list).
DIGEST_LINK_MAX_AGE_DAYS = env.int("DIGEST_LINK_MAX_AGE_DAYS", default=180)
# The link that moves a subscription to a new address: short-lived like confirming, since it
# decides where every later email goes.
CHANGE_EMAIL_LINK_MAX_AGE_DAYS = env.int("CHANGE_EMAIL_LINK_MAX_AGE_DAYS", default=3)
# A sign-up never confirmed is deleted this long after it was last asked for (beat, daily).
UNCONFIRMED_SIGNUP_RETENTION_DAYS = env.int("UNCONFIRMED_SIGNUP_RETENTION_DAYS", default=30)
# Paper links opened sooner than this after a digest was sent are not counted as clicks: mail
# security scanners fetch every link on delivery.
FEEDBACK_CLICK_MIN_SECONDS = env.int("FEEDBACK_CLICK_MIN_SECONDS", default=60)
# Rate limits (fixed windows in the cache; shared across workers when REDIS_URL is set).
# Subscribing and asking for a preferences link count together per client IP and per address.
SUBSCRIBE_LIMIT_PER_IP = env.int("SUBSCRIBE_LIMIT_PER_IP", default=10)
SUBSCRIBE_LIMIT_PER_EMAIL = env.int("SUBSCRIBE_LIMIT_PER_EMAIL", default=3)
SUBSCRIBE_LIMIT_WINDOW_SECONDS = env.int("SUBSCRIBE_LIMIT_WINDOW_SECONDS", default=3600)
PREVIEW_LIMIT_PER_IP = env.int("PREVIEW_LIMIT_PER_IP", default=120)
PREVIEW_LIMIT_WINDOW_SECONDS = env.int("PREVIEW_LIMIT_WINDOW_SECONDS", default=60)
PREVIEW_CACHE_SECONDS = env.int("PREVIEW_CACHE_SECONDS", default=120)
# Behind a reverse proxy REMOTE_ADDR is the proxy; with this set, the client address is the last
# X-Forwarded-For entry (the one our own proxy appended; earlier ones are client-controlled).
TRUST_X_FORWARDED_FOR = env.bool("DJANGO_TRUST_X_FORWARDED_FOR", default=False)

# --- Ingestion --------------------------------------------------------------------------------
# Categories the daily arXiv fetch asks for; the base URLs can point at a mirror.
INGEST_ARXIV_CATEGORIES = env.list(
    "INGEST_ARXIV_CATEGORIES", default=["cs.LG", "cs.CL", "cs.CV", "cs.AI", "cs.RO", "cs.IR"]
)
INGEST_HF_API_URL = env.str("INGEST_HF_API_URL", default="https://huggingface.co/api/daily_papers")
INGEST_ARXIV_API_URL = env.str("INGEST_ARXIV_API_URL", default="https://export.arxiv.org/api/query")

# --- Security ---------------------------------------------------------------------------------
# Behind a TLS-terminating proxy (put one in front of the web server in production; see README).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Admin console -----------------------------------------------------------------------------
# The admin's URL prefix: a path of your own keeps drive-by scanners of /admin/ away from the
# login form (it is no secret; the lockout below is what protects it).
ADMIN_URL_PATH = env.str("ADMIN_URL_PATH", default="admin/").strip("/") + "/"
# Wrong passwords before a lockout, counted separately per account (username) and per client
# IP; the lock lifts after the cool-off (a staff member can also clear it in Axes' admin).
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("ADMIN_LOGIN_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# The same client address the rate limits use (honours DJANGO_TRUST_X_FORWARDED_FOR).
AXES_CLIENT_IP_CALLABLE = "accounts.ratelimit.client_ip"
AXES_ENABLE_ADMIN = True
# Diffs store what changed as JSON (before and after), which the audit views filter and show.
AUDITLOG_STORE_JSON_CHANGES = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- I18n, static -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MANIFEST_STATIC = env.bool("DJANGO_MANIFEST_STATIC", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if MANIFEST_STATIC
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Production images run collectstatic and serve hashed files; the embedded default (no
# collectstatic step) lets WhiteNoise serve straight from the source folders instead.
WHITENOISE_USE_FINDERS = not MANIFEST_STATIC

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

"""Paylinks settings: one module, every value from the environment (see README, "Configuration").

Defaults make a fresh clone run (SQLite and a file-based Celery broker under var/, the Stripe sandbox);
production differs only by environment variables.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from config.env import BASE_DIR, env

# CORE ----------------------------------------------------------------------------------------------

VAR_DIR = Path(env.str("PAYLINKS_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()
# The embedded default keeps its database, queue, mail and collected static files here.
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)
# The fallback key only exists so a development checkout runs; production must set SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="" if not DEBUG else "django-insecure-paylinks-development-only")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public address of this Paylinks install: used in the webhook endpoint we register with Stripe
# and in links printed by commands and e-mails.
PAYLINKS_BASE_URL = env.str("PAYLINKS_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
PAYLINKS_MERCHANT_NAME = env.str("PAYLINKS_MERCHANT_NAME", default="Paylinks demo shop")
PAYLINKS_STAFF_EMAIL = env.str("PAYLINKS_STAFF_EMAIL", default="")

# STRIPE ---------------------------------------------------------------------------------------------
# Sandbox mode: no key, or an explicit API base. The sandbox's URLs are only mounted in sandbox mode,
# so they never sit beside a real Stripe key.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="").rstrip("/")
STRIPE_SANDBOX_MODE = not STRIPE_SECRET_KEY or bool(STRIPE_API_BASE)
if STRIPE_SANDBOX_MODE:
    STRIPE_SECRET_KEY = STRIPE_SECRET_KEY or "sk_test_paylinks_sandbox"
    STRIPE_API_BASE = STRIPE_API_BASE or f"{PAYLINKS_BASE_URL}/sandbox"
# Extra endpoint secrets accepted by the webhook view (comma-separated, for rotation); the secret
# returned when we register our endpoint is stored in the database and accepted too.
STRIPE_WEBHOOK_SECRETS = env.list("STRIPE_WEBHOOK_SECRET", default=[])
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=20.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)

# APPLICATIONS ---------------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # For the trigram indexes' OpClass in migrations (PostgreSQL); registers lookups only, no models.
    "django.contrib.postgres",
    "django_htmx",
    # Only for its translated country names (links/countries.py); it has no models.
    "django_countries",
    "axes",
    "config",
    "catalog",
    "links",
    "webhooks",
]
if STRIPE_SANDBOX_MODE:
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.StaffRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.paylinks",
            ],
        },
    },
]

# DATABASE -------------------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/6.1/ref/databases/#sqlite-notes

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'paylinks.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the Celery worker and beat write to one file: WAL lets readers go on while one
    # writes, IMMEDIATE takes the write lock up front (no deadlock on upgrade), and writers wait.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so live-server tests get one connection per thread like production; the pid
    # keeps concurrent test runs apart.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-paylinks-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    # Django checks a persistent connection before each request's first query: one a restart closed is
    # replaced instead of failing the request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# CACHE AND CELERY -----------------------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    # Unacknowledged tasks return to the queue after this long (a worker killed mid-task).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # kombu's filesystem transport: a broker that needs no server, for the embedded default.
    CELERY_QUEUE_DIR = VAR_DIR / "celery"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR / "queue"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "queue"),
        "processed_folder": str(CELERY_QUEUE_DIR / "processed"),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (CELERY_QUEUE_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A task is acknowledged only when it has finished, and re-queued when its worker dies: together with
# idempotent tasks this gives at-least-once processing (https://docs.celeryq.dev/en/stable/faq.html).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection before and after every task unless this is set:
# a new PostgreSQL backend per task, which cost more CPU than the task itself. With it set, the fixup
# closes only every this-many tasks, and config/celery.py applies Django's own rules around each task,
# as for a request (CONN_MAX_AGE, CONN_HEALTH_CHECKS, closed after an error).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Events whose task never ran (broker down, worker killed) are picked up again from the database.
    "webhooks-requeue-stuck-events": {"task": "webhooks.requeue_stuck_events", "schedule": 60.0},
    # The links' conversion: checkout sessions opened since the last run, read from Stripe's list (Stripe
    # sends no event when a session opens). Expires before the next run, so a stopped worker is not flooded.
    "links-scan-checkout-sessions": {
        "task": "links.scan_checkout_sessions",
        "schedule": 300.0,
        "options": {"expires": 300.0},
    },
}
if STRIPE_SANDBOX_MODE:
    # The sandbox's clock: expires open sessions, settles SEPA debits, ends trials, re-queues deliveries.
    CELERY_BEAT_SCHEDULE["sandbox-tick"] = {"task": "sandbox.tick", "schedule": 60.0}

# E-MAIL ---------------------------------------------------------------------------------------------
# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587 (django-environ's syntax); by default
# e-mails are written as files under var/mail/ so that the demo sends nothing out.
# https://docs.djangoproject.com/en/6.1/topics/email/#mailers


def _mailer_from_url(url: str) -> dict:
    config = environ.Env.email_url_config(url)
    backend = config["EMAIL_BACKEND"]
    if backend == "django.core.mail.backends.filebased.EmailBackend":
        return {"BACKEND": backend, "OPTIONS": {"file_path": str(VAR_DIR / "mail")}}
    if backend != "django.core.mail.backends.smtp.EmailBackend":
        return {"BACKEND": backend}
    options = {
        "host": config.get("EMAIL_HOST") or "localhost",
        "port": config.get("EMAIL_PORT") or 25,
        "username": config.get("EMAIL_HOST_USER") or "",
        "password": config.get("EMAIL_HOST_PASSWORD") or "",
        "use_tls": bool(config.get("EMAIL_USE_TLS")),
        "use_ssl": bool(config.get("EMAIL_USE_SSL")),
        "timeout": 20,
    }
    return {"BACKEND": backend, "OPTIONS": options}


MAILERS = {"default": _mailer_from_url(env.str("EMAIL_URL", default="filemail://"))}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Paylinks <paylinks@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# AUTH -----------------------------------------------------------------------------------------------

# django-axes' backend first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in throttling (django-axes, https://django-axes.readthedocs.io/en/latest/4_configuration.html):
# after LOGIN_FAILURE_LIMIT wrong passwords for one username (from any address), or from one address (for
# any usernames), that username or that address is refused for LOGIN_LOCKOUT_MINUTES, each new try
# restarting the wait. Either alone, not only the pair: guessing one account's password from many
# addresses, or trying one password on many accounts from one address, is what throttling must stop; an
# admin lifts a lockout from the settings page.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.lockouts.lockout_response"
# The client's address: REMOTE_ADDR, or behind our TLS proxy the address it saw (see config/lockouts.py;
# django-ipware, which the AXES_IPWARE_* settings configure, is not installed).
AXES_CLIENT_IP_CALLABLE = "config.lockouts.client_ip"
# Axes never logs the password; the username and address are what an admin looks for in the log.
AXES_SENSITIVE_PARAMETERS = []

# I18N -----------------------------------------------------------------------------------------------

LANGUAGES = [("en", _("English")), ("fr", _("French"))]
# The language of e-mails, and of pages for a browser that asks for none of LANGUAGES.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
if LANGUAGE_CODE not in dict(LANGUAGES):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of {', '.join(dict(LANGUAGES))}.")
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

# STATIC FILES ---------------------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from the app folders too, so a checkout works before collectstatic has run.
WHITENOISE_USE_FINDERS = True
# With DEBUG off, collectstatic must have run (README, "Production"): config/wsgi.py refuses to start
# without its manifest. WHITENOISE_MANIFEST_STRICT stays on (whitenoise's default): off, a name missing
# from the manifest is hashed from its file under STATIC_ROOT instead, and that file is missing too when
# collectstatic has not run, so every page would still answer 500, only with a vaguer error.

# SECURITY -------------------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/6.1/ref/csp/

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "https:"],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Webhook bodies larger than this are refused before they are parsed.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=512 * 1024)

# BENCHMARKS -----------------------------------------------------------------------------------------
# Mounts /bench/floor: a trivial view (no database, no session) that the benchmarks under bench/ measure
# as the machine's floor, in the same server and run. Off by default: production never serves it.
PAYLINKS_BENCH_FLOOR = env.bool("PAYLINKS_BENCH_FLOOR", default=False)

# LOGGING --------------------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The SDK logs every request and response at INFO: two lines per API call, for debugging only.
        "stripe": {"level": env.str("STRIPE_LOG_LEVEL", default="WARNING")},
        # django-axes' banner at every start; its sign-in failures and lockouts (axes.handlers) stay.
        "axes.apps": {"level": "WARNING"},
        # One line for a person watching, whatever LOG_LEVEL says: a payment received or failed, an order
        # fulfilled (links.fulfilment), a webhook refused (webhooks.views).
        "paylinks.notices": {"level": "INFO"},
    },
}
# `manage.py demo` starts its children with their output in var/log/ and its own terminal on this file
# descriptor: there, the notices and every error, one line each (config/demo_log.py).
DEMO_TERMINAL = (
    {"fd": env.int("PAYLINKS_DEMO_TERMINAL_FD"), "log_file": env.str("PAYLINKS_DEMO_LOG_FILE", default="")}
    if env.str("PAYLINKS_DEMO_TERMINAL_FD", default="")
    else None
)
if DEMO_TERMINAL:
    LOGGING["handlers"]["demo_terminal"] = {"()": "config.demo_log.demo_terminal_handler", **DEMO_TERMINAL}
    LOGGING["root"]["handlers"].append("demo_terminal")

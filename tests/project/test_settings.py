"""The one settings module: embedded defaults with no environment, real services with it.

Settings are read at import time, so each case runs in a fresh interpreter with its own
environment, exactly as a deployment would start.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.services import PROJECT_ROOT

PROBE = """
import json, django
from django.conf import settings
django.setup()
from django.core.mail import get_connection
from django.core.cache import cache
db = settings.DATABASES["default"]
kept = None
if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # As many entries as a 1,000-subscriber install caches profiles: are they all kept?
    cache.set_many({f"profile:{n}": n for n in range(1000)})
    kept = len(cache.get_many([f"profile:{n}" for n in range(1000)]))
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST", ""),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER, "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "email_backend": settings.EMAIL_BACKEND, "connection": type(get_connection()).__module__,
    "email_host": getattr(settings, "EMAIL_HOST", ""),
    "email_port": getattr(settings, "EMAIL_PORT", 0),
    "anymail": settings.ANYMAIL, "outbox": str(settings.EMAIL_OUTBOX_DIR),
    "cache_kept": kept,
    "child_memory_mib": settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD // 1024,
    "embeddings": settings.RECOMMENDER_EMBEDDINGS,
}))
"""


def read_settings(tmp_path, **env: str) -> dict:
    clean = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "digest_site.settings",
        "DIGEST_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_runs_on_sqlite_in_process_and_files_with_no_environment(tmp_path):
    config = read_settings(tmp_path)

    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["name"] == str(tmp_path / "var" / "db.sqlite3")
    assert config["eager"] is True
    assert config["cache"].endswith("LocMemCache")
    assert config["cache_kept"] == 1000  # not culled at Django's default of 300
    assert config["email_backend"] == "digest_site.mailing.backends.OutboxBackend"
    assert config["outbox"] == str(tmp_path / "var" / "outbox")


def test_it_uses_postgres_redis_and_smtp_from_the_environment(tmp_path):
    config = read_settings(
        tmp_path,
        DATABASE_URL="postgres://digest:pw@db.internal:5432/digest",
        REDIS_URL="redis://cache.internal:6379/0",
        EMAIL_PROVIDER="smtp",
        EMAIL_URL="smtp://mailer.internal:2525",
    )

    assert config["engine"] == "django.db.backends.postgresql"
    assert (config["host"], config["name"]) == ("db.internal", "digest")
    assert config["eager"] is False
    assert config["broker"] == "redis://cache.internal:6379/0"
    assert config["cache"].endswith("RedisCache")
    assert config["email_backend"] == "digest_site.mailing.smtp.EmailBackend"
    assert (config["email_host"], config["email_port"]) == ("mailer.internal", 2525)


@pytest.mark.parametrize(
    ("provider", "key", "module"),
    [
        ("postmark", "ANYMAIL_POSTMARK_SERVER_TOKEN", "anymail.backends.postmark"),
        ("mailgun", "ANYMAIL_MAILGUN_API_KEY", "anymail.backends.mailgun"),
        ("sendgrid", "ANYMAIL_SENDGRID_API_KEY", "anymail.backends.sendgrid"),
    ],
)
def test_it_picks_any_anymail_provider_by_name_with_its_keys(tmp_path, provider, key, module):
    config = read_settings(tmp_path, EMAIL_PROVIDER=provider, **{key: "secret-123"})

    assert config["connection"] == module
    assert config["anymail"][key.removeprefix("ANYMAIL_")] == "secret-123"


def test_it_refuses_an_unknown_email_provider_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "digest_site.settings",
            "DIGEST_VAR_DIR": str(tmp_path),
            "EMAIL_PROVIDER": "carrier-pigeon",
        },
        check=False,
    )

    assert result.returncode != 0
    assert "EMAIL_PROVIDER='carrier-pigeon' is not known" in result.stderr


@pytest.mark.parametrize(
    ("argv", "url"),
    [
        (["manage.py", "runserver"], "http://127.0.0.1:8000"),
        (["manage.py", "runserver", "8001"], "http://127.0.0.1:8001"),
        (["manage.py", "runserver", "0.0.0.0:8123"], "http://127.0.0.1:8123"),
        (["manage.py", "runserver", "--noreload", "localhost:9000"], "http://localhost:9000"),
        (["manage.py", "demo"], "http://127.0.0.1:8000"),
    ],
)
def test_emailed_links_follow_the_port_runserver_listens_on(argv, url):
    from digest_site.settings import _runserver_url

    assert _runserver_url(argv) == url


def test_the_sentence_encoder_gives_each_worker_child_room_for_itself(tmp_path):
    """With the optional encoder on, a child ranking digests holds ~430 MiB more: at the
    default limit it would be replaced after every task and load the encoder again."""
    assert read_settings(tmp_path)["child_memory_mib"] == 768
    config = read_settings(tmp_path, RECOMMENDER_EMBEDDINGS="minilm")
    assert config["embeddings"] == "minilm"
    assert config["child_memory_mib"] == 1280
    explicit = read_settings(
        tmp_path, RECOMMENDER_EMBEDDINGS="minilm", CELERY_WORKER_MAX_MEMORY_MIB="2000"
    )
    assert explicit["child_memory_mib"] == 2000

"""Lint and Django's system checks, run as a developer or a deployment would run them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.services import PROJECT_ROOT

PRODUCTION_LIKE = {
    "PATH": "/usr/bin:/bin",
    "DJANGO_SECRET_KEY": "prod-like-" + "k8Hq2vLx9PzR4tWm7YbN3cJf6GdS1aEu" * 2,
    "DJANGO_ALLOWED_HOSTS": "digest.example.org",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_HSTS_SECONDS": "31536000",
    "DATABASE_URL": "postgres://digest:pw@127.0.0.1:5432/digest",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_PROVIDER": "postmark",
    "ANYMAIL_POSTMARK_SERVER_TOKEN": "token",
}


def run(*command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    result = run(str(ruff), "check", ".")

    assert result.returncode == 0, result.stdout


def test_django_system_checks_pass(tmp_path):
    result = run(
        sys.executable,
        "manage.py",
        "check",
        "--fail-level",
        "WARNING",
        env={"PATH": "/usr/bin:/bin", "DIGEST_VAR_DIR": str(tmp_path)},
    )

    assert result.returncode == 0, result.stderr


def test_deployment_checks_pass_with_production_settings(tmp_path):
    result = run(
        sys.executable,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**PRODUCTION_LIKE, "DIGEST_VAR_DIR": str(tmp_path)},
    )

    assert result.returncode == 0, result.stderr + result.stdout


def test_deployment_checks_catch_the_default_secret_key(tmp_path):
    env = {**PRODUCTION_LIKE, "DIGEST_VAR_DIR": str(tmp_path)}
    del env["DJANGO_SECRET_KEY"]

    result = run(
        sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env
    )

    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_every_model_change_has_a_migration(tmp_path):
    result = run(
        sys.executable,
        "manage.py",
        "makemigrations",
        "--check",
        "--dry-run",
        env={"PATH": "/usr/bin:/bin", "DIGEST_VAR_DIR": str(tmp_path)},
    )

    assert result.returncode == 0, result.stdout


MAX_MODULE_LINES = 500


def test_no_module_of_the_application_grows_past_500_lines():
    """A module past this size holds more than one idea; split it by stage or concern."""
    sizes = {
        str(path.relative_to(PROJECT_ROOT)): len(path.read_text().splitlines())
        for package in ("accounts", "digest_site", "recommender")
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert len(sizes) > 40  # the walk found the application
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_no_test_module_imports_another():
    """Shared fixtures live in conftest.py, shared helpers in tests/helpers.py."""
    importing = re.compile(r"^\s*(?:from|import) tests\.(?:test_|conftest)", re.MULTILINE)
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "tests").rglob("test_*.py")
        if importing.search(path.read_text())
    ]
    assert offenders == []

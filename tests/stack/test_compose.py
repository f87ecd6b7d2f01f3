"""docker-compose.yml describes the whole production topology and is valid Compose.

No Docker engine runs here; Debian's docker-compose validates and resolves the file without one.
The services' commands themselves are run for real in test_production_stack.py.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.services import PROJECT_ROOT

COMPOSE = shutil.which("docker-compose")


def compose_config(path, **env: str) -> subprocess.CompletedProcess:
    if COMPOSE is None:
        pytest.fail("docker-compose is missing: run scripts/install-system-packages.sh")
    return subprocess.run(
        [COMPOSE, "-f", str(path), "config"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_is_valid_compose_and_starts_every_production_service():
    result = compose_config(PROJECT_ROOT / "docker-compose.yml", DJANGO_SECRET_KEY="s3cret")

    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "mailpit", "migrate"} <= set(services)
    assert services["web"]["command"][:3] == ["granian", "--interface", "wsgi"]
    assert services["web"]["command"][services["web"]["command"].index("--workers") + 1] == "2"
    assert services["worker"]["command"][:4] == ["celery", "-A", "digest_site", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "digest_site", "beat"]
    app_env = services["worker"]["environment"]
    assert app_env["DATABASE_URL"].startswith("postgres://")
    assert app_env["REDIS_URL"] == "redis://redis:6379/0"
    assert app_env["EMAIL_URL"] == "smtp://mailpit:1025"


def test_it_refuses_to_start_without_a_secret_key():
    result = compose_config(PROJECT_ROOT / "docker-compose.yml")

    assert result.returncode != 0
    assert "set DJANGO_SECRET_KEY" in result.stderr


def test_the_validator_rejects_a_broken_file(tmp_path):
    # Proves the check above can fail: an unknown service option must be refused.
    spec = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    spec["services"]["web"]["comand"] = ["typo"]
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(spec))

    result = compose_config(broken, DJANGO_SECRET_KEY="s3cret")

    assert result.returncode != 0
    assert "comand" in result.stderr

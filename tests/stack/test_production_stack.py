"""The production path for real: PostgreSQL, Redis, a Celery worker and beat, granian, SMTP.

Each service runs as its own process with the command docker-compose.yml gives it, so these
tests prove both the wiring and the compose file's commands without a Docker engine.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.services import (
    compose_command,
    ensure_redis,
    free_port,
    fresh_postgres_database,
    manage,
    production_env,
    run_sql,
    start,
    stop,
    wait_for_port,
)
from tests.smtp import LoopbackSMTPServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack")
    ensure_redis()
    with fresh_postgres_database() as database_url, LoopbackSMTPServer() as smtp:
        env = production_env(
            tmp,
            DJANGO_SECRET_KEY="integration-test-secret-key-" + "x" * 40,
            DATABASE_URL=database_url,
            REDIS_URL="redis://127.0.0.1:6379/0",
            EMAIL_PROVIDER="smtp",
            EMAIL_URL=smtp.url,
            DIGEST_DISPATCH_EVERY_SECONDS="1",
        )
        manage(env, *compose_command("migrate")[2:])
        yield {"env": env, "smtp": smtp, "tmp": tmp, "database_url": database_url}


def test_it_migrates_postgres_and_runs_the_demo_job_over_smtp(stack):
    result = manage(stack["env"], "demo", timeout=300)

    assert "Done:" in result.stdout
    message = stack["smtp"].wait_for("demo@example.com", seconds=10)
    assert re.match(r"(\w{3} \d{1,2} \w{3}|Week of \d{1,2} \w{3}): \d+ papers?", message["Subject"])
    assert message.get_body(preferencelist=("html",)) is not None
    rows = run_sql(stack["database_url"], "SELECT count(*) FROM recommender_paper")
    assert rows[0][0] == 996


def test_it_sends_due_digests_through_celery_beat_and_a_worker_on_redis(stack):
    env, tmp = stack["env"], stack["tmp"]
    # Papers come from the demo test above or are loaded here when this test runs alone.
    if run_sql(stack["database_url"], "SELECT count(*) FROM recommender_paper")[0][0] == 0:
        manage(env, "demo", timeout=300)
    manage(
        env,
        "shell",
        "-c",
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from accounts.models import Subscriber, InterestProfile\n"
        "s = Subscriber.objects.create(email='celery-reader@example.com', status='active',"
        " next_digest_at=timezone.now() - timedelta(minutes=1))\n"
        "InterestProfile.objects.create(subscriber=s, interests_text='speech and audio"
        " generation', categories=['cs.SD', 'eess.AS'])\n",
    )
    schedule = str(tmp / "celerybeat-schedule")
    worker = start(compose_command("worker"), env, tmp / "worker.log")
    beat = start(
        compose_command("beat", **{"/var/lib/digest/celerybeat-schedule": schedule}),
        env,
        tmp / "beat.log",
    )
    try:
        message = stack["smtp"].wait_for("celery-reader@example.com", seconds=90)
    finally:
        stop(beat)
        stop(worker)

    assert re.match(r"(\w{3} \d{1,2} \w{3}|Week of \d{1,2} \w{3}): \d+ papers?", message["Subject"])
    worker_log = (tmp / "worker.log").read_text()
    assert "recommender.tasks.send_digests" in worker_log
    assert "succeeded" in worker_log
    assert "Sending due task dispatch-due-digests" in (tmp / "beat.log").read_text()
    status, sent_at = run_sql(
        stack["database_url"],
        "SELECT d.status, d.sent_at FROM recommender_digest d JOIN accounts_subscriber s"
        " ON s.id = d.subscriber_id WHERE s.email = 'celery-reader@example.com'",
    )[0]
    assert status == "sent"
    assert sent_at is not None


def test_it_serves_the_app_with_the_web_server_on_postgres_and_redis(stack):
    port = free_port()
    command = compose_command("web", **{"0.0.0.0": "127.0.0.1", "8000": str(port)})
    server = start(command, stack["env"], stack["tmp"] / "web.log")
    try:
        wait_for_port("127.0.0.1", port, seconds=30, what="web server")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            health = json.load(response)
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=10) as page:
            assert page.status == 200
            assert "Paper Digest administration" in page.read().decode()
    finally:
        stop(server)

    assert health == {"status": "ok", "database": "ok", "cache": "ok", "delivery": "ok"}
    assert "GET /healthz" in (stack["tmp"] / "web.log").read_text()

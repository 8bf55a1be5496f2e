"""docker-compose.yml and the Dockerfile describe the production shape.

The compose file is validated by `docker compose config` (v2 plugin) or, where Debian has
no plugin, its docker-compose 1.29 (`.ci/run` installs it); the tests below also check
the shape we rely on (health checks, dependencies, volumes, environment) with PyYAML.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_have_health_checks_and_dependencies(compose):
    services = compose["services"]
    assert {"provider", "postgres", "redis", "migrate"} <= set(services)
    for name in ("provider", "provider-2", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    provider = services["provider"]
    assert provider["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert provider["depends_on"]["redis"]["condition"] == "service_healthy"
    assert provider["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/readyz" in " ".join(provider["healthcheck"]["test"])
    assert services["migrate"]["command"] == ["idp", "db", "upgrade"]


def test_configuration_by_environment_and_volumes(compose):
    provider = compose["services"]["provider"]
    env = provider["environment"]
    assert env["IDP_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["IDP_REDIS_URL"].startswith("redis://redis:")
    assert env["IDP_KEYS_DIR"] == "/keys"
    assert "keys:/keys" in provider["volumes"]
    assert compose["services"]["provider-2"]["volumes"] == provider["volumes"]  # shared keys
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    assert {"pgdata", "keys", "redisdata"} <= set(compose["volumes"])
    from idp.config import load_config

    resolved = {k: v.replace("${IDP_ISSUER:-http://localhost:5000}", "http://localhost:5000")
                for k, v in env.items() if "${" not in v or k == "IDP_ISSUER"}
    load_config(environ=resolved)  # every literal value is one the provider accepts


def test_dockerfile_runs_idp_serve_unprivileged_with_volumes():
    text = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["idp", "serve"]' in text and "HEALTHCHECK" in text
    assert "USER idp" in text and 'VOLUME ["/data", "/keys"]' in text
    assert "IDP_HOST=0.0.0.0" in text


def _compose_validator() -> list[str] | None:
    """`docker compose` (v2 plugin) if present, else Debian's docker-compose 1.29."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def _validate(command: list[str], folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*command, "config", "-q"], cwd=folder, capture_output=True, text=True,
                          timeout=60)


def test_compose_file_validates_and_a_broken_one_does_not(tmp_path):
    command = _compose_validator()
    if command is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed (.ci/run installs it)")
    done = _validate(command, ROOT)
    assert done.returncode == 0, done.stderr
    broken = (ROOT / "docker-compose.yml").read_text().replace("healthcheck:", "healthchek:")
    (tmp_path / "docker-compose.yml").write_text(broken)
    (tmp_path / "Dockerfile").write_text((ROOT / "Dockerfile").read_text())
    refused = _validate(command, tmp_path)
    assert refused.returncode != 0 and "healthchek" in refused.stderr + refused.stdout


def test_rabbitmq_profile_runs_the_broker_and_the_example_consumer(compose):
    services = compose["services"]
    broker, consumer = services["rabbitmq"], services["events-consumer"]
    assert broker["profiles"] == ["rabbitmq"] == consumer["profiles"]
    assert broker["healthcheck"]["test"]
    assert consumer["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    script = consumer["command"][-1].replace("/examples/", "examples/")
    assert (ROOT / script).is_file()
    assert "./examples:/examples:ro" in consumer["volumes"]
    # Off unless the operator sets it (an empty value leaves IDP_AMQP_URL unset).
    assert services["provider"]["environment"]["IDP_AMQP_URL"] == "${IDP_AMQP_URL:-}"

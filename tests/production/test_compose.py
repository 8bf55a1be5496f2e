"""docker-compose.yml and the Dockerfile describe the production shape.

`docker compose config` needs the compose plugin, which CI machines without Docker lack;
this test checks the same structure with PyYAML (`.ci/run` also runs `docker compose
config -q` when the plugin exists).
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


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker client not installed")
def test_docker_compose_config_when_the_plugin_exists():
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    done = subprocess.run(["docker", "compose", "config", "-q"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr

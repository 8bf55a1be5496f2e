"""What a serving worker loads (issue 20: start-up within 3 s, memory per worker): the app
of `idp serve` does not import the libraries of features a request may never use. They are
loaded by the first request that needs them (tests/integration covers those paths)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ON_FIRST_USE = ("saml2", "xmlschema", "scim2_models", "alembic", "pika")


def test_the_serving_app_leaves_rarely_used_libraries_unloaded(tmp_path):
    code = ("import json, sys; import idp.wsgi; "
            f"print(json.dumps([m for m in {ON_FIRST_USE!r} if m in sys.modules]))")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
           "IDP_DATABASE_URL": f"sqlite:///{tmp_path}/idp.db",
           "IDP_KEYS_DIR": str(tmp_path / "keys")}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []

"""What the in-process bench scripts share: a throwaway app, a service client, and the
SQL statements a piece of work sends (profile_token.py, profile_login.py, wsgi_cost.py,
pg_scale.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter


def in_temp_dir(run, args, prefix: str) -> int:
    """run(args, tmp) in a fresh temporary directory, removed afterwards."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        return run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fresh_app(tmp: str, **env: str):
    """The app on a new SQLite database (migrated) and keys under `tmp`, which becomes the
    working directory; `env` adds IDP_* settings."""
    os.environ.update(IDP_DATABASE_URL=f"sqlite:///{tmp}/idp.db", IDP_KEYS_DIR=f"{tmp}/keys",
                      IDP_ISSUER="http://127.0.0.1:5999", IDP_PORT="5999", **env)
    os.chdir(tmp)
    from idp import create_app
    from idp.cli import run_upgrade

    app = create_app()
    with app.app_context():
        run_upgrade(app)
    return app


def service_client(app, name: str, *, alg: str | None = None, scopes=(), roles=()):
    """A confidential client-credentials client in the default tenant: (client_id, secret)."""
    from idp.extensions import db
    from idp.oauth.clients.service import ClientSpec, create_client
    from idp.request_context import system_context
    from idp.tenancy.tenants import query_tenant

    with app.app_context():
        spec = ClientSpec(name=name, grant_types=["client_credentials"], redirect_uris=[],
                          post_logout_redirect_uris=[], scopes=list(scopes), public=False,
                          first_party=False, auth_method=None, jwks=None, jwks_uri=None,
                          roles=list(roles), audiences=[], token_alg=alg)
        client, secret = create_client(db.session, system_context(),
                                       app.extensions["idp"].keyring,
                                       query_tenant(db.session, None), spec)
        db.session.commit()
        return client.id, secret


def statements_of(engine, work, times: int, width: int = 120) -> Counter:
    """How often each SQL statement (first `width` characters) ran in `times` x work()."""
    from sqlalchemy import event

    seen: Counter = Counter()

    def count(conn, cursor, statement, parameters, context, executemany):
        seen[" ".join(statement.split())[:width]] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(times):
            work()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen

"""Rewrite migrations/versions/0001_initial_schema.py from the current models.

Only valid until the first release: after that, revisions are never edited and every
schema change is a new revision (`flask --app idp.wsgi db migrate`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask_migrate import migrate

from idp import create_app

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "migrations" / "versions" / "0001_initial_schema.py"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"database_url": f"sqlite:///{tmp}/empty.db", "keys_dir": f"{tmp}/k"})
        TARGET.unlink(missing_ok=True)
        with app.app_context():
            migrate(directory=str(ROOT / "migrations"), message="initial schema", rev_id="0001")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

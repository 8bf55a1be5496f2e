"""The shipped head revision, read from the revision files without Alembic (start-up fast
path of `idp serve`, issue 20), is the one Alembic finds."""

from __future__ import annotations

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from idp.app_setup import MIGRATIONS_DIR
from idp.schema import head_revision


def test_head_revision_is_alembics_head():
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()

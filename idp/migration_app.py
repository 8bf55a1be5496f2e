"""The app with Flask-Migrate enabled, for writing new schema revisions:

    FLASK_APP=idp.migration_app flask db migrate -m "what changed"

(`idp db upgrade` applies them; serving workers never load Alembic.)
"""

from idp import create_app
from idp.app_setup import enable_migrations
from idp.config import load_dotenv_file

load_dotenv_file()
app = create_app()
enable_migrations(app)

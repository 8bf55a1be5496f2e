"""WSGI entry point: `idp.wsgi:app`."""

from idp import create_app
from idp.config import load_dotenv_file

load_dotenv_file()
app = create_app()

"""The `main` click group and the wrapper that turns errors into one stderr line."""

from __future__ import annotations

import sys
from functools import wraps

import click
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from idp.config import ConfigError
from idp.errors import DomainError


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def with_app(func):
    """Run the command inside an app context; turn known errors into one stderr line."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        from idp import create_app
        from idp.config import load_dotenv_file

        try:
            load_dotenv_file()
            app = create_app()
            with app.app_context():
                return func(app, *args, **kwargs)
        except ConfigError as exc:
            fail(str(exc))
        except DomainError as exc:
            fail(exc.message)
        except OperationalError as exc:
            fail(f"database unavailable or not migrated ({exc.orig.__class__.__name__}); "
                  "run 'idp db upgrade'")
        except SQLAlchemyError as exc:
            fail(f"database error: {exc.__class__.__name__}")
        except OSError as exc:
            fail(str(exc))
        except click.exceptions.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - the contract is one line, no traceback
            fail(f"{exc.__class__.__name__}: {exc}")

    return wrapper


@click.group()
def main():
    """idp: an OAuth 2 / OpenID Connect identity provider."""

"""The `main` click group and the wrapper that turns errors into one stderr line."""

from __future__ import annotations

import sys
from functools import wraps

import click
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

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
        from idp.database import database_deadline

        app = None
        try:
            load_dotenv_file()
            app = create_app()
            # An operator's command (a migration waiting for another's lock, a long
            # import) is not a request: no client-side database deadline.
            with app.app_context(), database_deadline(None):
                return func(app, *args, **kwargs)
        except ConfigError as exc:
            fail(str(exc))
        except DomainError as exc:
            fail(exc.message)
        except (OperationalError, ProgrammingError) as exc:
            fail(_database_problem(app) or f"database error: {exc.orig.__class__.__name__}")
        except SQLAlchemyError as exc:
            fail(f"database error: {exc.__class__.__name__}")
        except OSError as exc:
            fail(str(exc))
        except click.exceptions.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - the contract is one line, no traceback
            fail(f"{exc.__class__.__name__}: {exc}")

    return wrapper


def _database_problem(app) -> str | None:
    # "Unreachable" and "not migrated" need different fixes: say which one it is.
    if app is None:
        return None
    from idp.extensions import db
    from idp.schema import describe_database_problem

    try:
        with app.app_context():
            return describe_database_problem(db.engine)
    except SQLAlchemyError:
        return None


@click.group()
def main():
    """idp: an OAuth 2 / OpenID Connect identity provider."""

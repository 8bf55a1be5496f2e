"""Flask extensions, created unbound and attached in `create_app`."""

from flask_limiter import Limiter
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from idp.models.base import Base

db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()


def _limiter_key() -> str:
    from idp.http import client_ip

    return client_ip()


limiter = Limiter(key_func=_limiter_key, default_limits=[], headers_enabled=True)

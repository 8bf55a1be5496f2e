"""The WSGI fast paths ahead of Flask: they call the same decisions as the full path."""

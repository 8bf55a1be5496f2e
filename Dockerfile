# The provider image: `idp serve` (gunicorn) on port 5000, configured by IDP_* variables.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IDP_HOST=0.0.0.0 \
    IDP_PORT=5000 \
    IDP_KEYS_DIR=/keys \
    IDP_DATABASE_URL=sqlite:////data/idp.db
WORKDIR /app
# templates/, static/ and migrations/ are read next to the package, so the source tree is
# installed in place (editable) rather than copied into site-packages.
COPY pyproject.toml README.md ./
COPY idp ./idp
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
# xmlsec1: pysaml2 checks SAML signatures with it (SAML providers, docs/federation.md).
RUN apt-get update && apt-get install -y --no-install-recommends xmlsec1 \
    && rm -rf /var/lib/apt/lists/*
RUN pip install -e . \
    && useradd --system --uid 10001 --home-dir /app idp \
    && mkdir -p /data /keys \
    && chown idp /data /keys
USER idp
VOLUME ["/data", "/keys"]
EXPOSE 5000
# Liveness only; load balancers should route on /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=2).status != 200)"]
# SIGTERM: gunicorn stops accepting and lets in-flight requests finish (graceful_timeout 20 s).
STOPSIGNAL SIGTERM
CMD ["idp", "serve"]

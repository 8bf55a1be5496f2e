"""The outbound fetch guard (SSRF): a client's `jwks_uri` on loopback, private, link-local
or metadata addresses is refused at registration and at fetch time, with one generic
error, unless IDP_OUTBOUND_ALLOW names it; no redirects are followed; answers are capped."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from idp.config import ConfigError, load_config
from tests.factories import make_client

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY = ECKey.generate_key("P-256", private=True)
PUBLIC_JWKS = {"keys": [{**KEY.as_dict(private=False), "kid": "k1", "alg": "ES256"}]}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server hook name
        self.server.hits.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/jwks")
            self.end_headers()
            return
        body = b"[" + b"0," * 40000 + b"0]" if self.path == "/huge" else \
            json.dumps(PUBLIC_JWKS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ALLOW_LOOPBACK = pytest.mark.parametrize("config_overrides", [{"outbound_allow": "127.0.0.1/32"}],
                                         indirect=True)


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


@pytest.fixture
def jwks_server():
    """A real HTTP server on 127.0.0.1 serving a key set; `hits` lists the paths asked."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _token(client, cid):
    now = int(time.time())
    claims = {"iss": cid, "sub": cid, "aud": "http://localhost", "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex}
    assertion = jwt.encode({"alg": "ES256", "kid": "k1"}, claims, KEY)
    return client.post("/token", data={"grant_type": "client_credentials", "client_id": cid,
                                       "client_assertion_type": ASSERTION_TYPE,
                                       "client_assertion": assertion})


def _stored_client_with_jwks_uri(app, uri: str) -> str:
    """A client whose `jwks_uri` was stored before this rule (or before the allowlist shrank)."""
    from idp.extensions import db
    from idp.models.oauth import Client

    cid, _ = make_client(app, grant_types=["client_credentials"], scopes=["a"], jwks=PUBLIC_JWKS)
    with app.app_context():
        row = db.session.get(Client, cid)
        row.jwks, row.jwks_uri = None, uri
        db.session.commit()
    return cid


def test_token_refuses_internal_jwks_uri_with_one_generic_error(app, client, jwks_server):
    port = jwks_server.server_address[1]
    targets = [f"http://127.0.0.1:{port}/jwks",          # open port, a real key set
               f"http://127.0.0.1:{_closed_port()}/jwks",  # closed port
               "http://169.254.169.254/latest/meta-data/",  # cloud metadata
               "https://10.0.0.1/jwks", "https://[::1]/jwks", "https://[::ffff:127.0.0.1]/jwks",
               f"http://localhost:{port}/jwks",            # a name: checked after resolution
               "https://0x7f000001/jwks", "https://2130706433/jwks"]  # 127.0.0.1 spelt oddly
    answers = []
    for uri in targets:
        response = _token(client, _stored_client_with_jwks_uri(app, uri))
        assert response.status_code == 400, (uri, response.get_data(as_text=True))
        answers.append(response.get_json())
    assert all(a == answers[0] for a in answers), answers
    assert answers[0]["error"] == "invalid_client"
    assert "127.0.0.1" not in answers[0]["error_description"]
    assert jwks_server.hits == []  # refused before any connection


@ALLOW_LOOPBACK
def test_allowlisted_loopback_jwks_uri_is_registered_and_fetched(app, client, jwks_server):
    port = jwks_server.server_address[1]
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                              auth_method="private_key_jwt",
                              jwks_uri=f"http://127.0.0.1:{port}/jwks")
    assert secret is None
    response = _token(client, cid)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert jwks_server.hits == ["/jwks"]
    # Still only the allowed network: another private address stays refused.
    other = _token(client, _stored_client_with_jwks_uri(app, "https://10.0.0.1/jwks"))
    assert other.status_code == 400 and jwks_server.hits == ["/jwks"]


@ALLOW_LOOPBACK
def test_redirects_are_not_followed_and_answers_are_capped(app, client, jwks_server):
    port = jwks_server.server_address[1]
    expected = None
    for path in ("/redirect", "/huge"):
        cid, _ = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                             auth_method="private_key_jwt",
                             jwks_uri=f"http://127.0.0.1:{port}{path}")
        response = _token(client, cid)
        assert response.status_code == 400
        expected = expected or response.get_json()
        assert response.get_json() == expected
    assert jwks_server.hits == ["/redirect", "/huge"]  # the redirect target was never asked


def _register(client, app, jwks_uri):
    from tests.integration.admin_support import bearer

    return client.post("/api/v1/clients", headers=bearer(client, app), json={
        "name": "signer", "auth_method": "private_key_jwt", "jwks_uri": jwks_uri,
        "grant_types": ["client_credentials"]})


INTERNAL = ["http://127.0.0.1:6379/", "http://localhost:5432/jwks", "https://169.254.169.254/x",
            "https://10.1.2.3/jwks", "https://192.168.0.1/jwks", "https://[::1]/jwks",
            "https://[fd00:ec2::254]/jwks", "https://100.64.0.1/jwks", "https://0.0.0.0/jwks",
            "https://app.localhost/jwks", "https://2130706433/jwks", "https://0x7f.1/jwks"]


def test_registration_refuses_internal_jwks_uri_with_one_message(app, client):
    answers = set()
    for uri in INTERNAL:
        response = _register(client, app, uri)
        assert response.status_code == 422, (uri, response.get_data(as_text=True))
        answers.add(response.get_json()["message"])
    assert len(answers) == 1 and "IDP_OUTBOUND_ALLOW" in answers.pop()
    # A public name that does not resolve (yet) is accepted; the fetch is checked again.
    assert _register(client, app, "https://keys.example.com/jwks").status_code == 201


@ALLOW_LOOPBACK
def test_registration_accepts_what_the_operator_allows(app, client):
    assert _register(client, app, "http://127.0.0.1:8080/jwks").status_code == 201
    assert _register(client, app, "http://localhost:8080/jwks").status_code == 201
    assert _register(client, app, "https://10.1.2.3/jwks").status_code == 422


def test_outbound_allow_is_validated_at_start_up():
    config = load_config({"outbound_allow": "127.0.0.1, 10.0.0.0/8 keys.internal"}, environ={})
    assert config.outbound_allow == ("127.0.0.1/32", "10.0.0.0/8", "keys.internal")
    for bad in ("10.0.0.0/33", "http://x", "a_b"):
        with pytest.raises(ConfigError, match="IDP_OUTBOUND_ALLOW"):
            load_config({"outbound_allow": bad}, environ={})


def _self_signed(tmp_path):
    """A certificate for localhost and 127.0.0.1 (its own CA), written as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def tls_jwks_server(tmp_path):
    """The same key set over HTTPS on 127.0.0.1, with a certificate nobody trusts yet."""
    import ssl

    cert_file, key_file = _self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.hits = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, cert_file
    finally:
        server.shutdown()
        server.server_close()


@ALLOW_LOOPBACK
def test_https_fetch_verifies_the_certificate_for_the_host_name(app, client, tls_jwks_server,
                                                                  monkeypatch):
    server, cert_file = tls_jwks_server
    uri = f"https://localhost:{server.server_address[1]}/jwks"
    cid, _ = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                         auth_method="private_key_jwt", jwks_uri=uri)
    assert _token(client, cid).status_code == 400  # untrusted certificate: refused
    # Trusted, the same pinned connection works: the name is verified, not the address.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    response = _token(client, cid)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert server.hits == ["/jwks"]

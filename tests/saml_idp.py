"""A real SAML 2.0 identity provider for the tests: pysaml2's `Server` with its own RSA key
and self-signed certificate (made here with `cryptography`), signing with xmlsec1. It reads
our SP metadata from /login/external/<slug>/metadata, answers our AuthnRequest (parsed from
the HTTP-Redirect URL) with a Response for the HTTP-POST binding."""

from __future__ import annotations

import base64
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor, metadata_tostring_fix
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

ENTITY_ID = "https://idp.corp.example/saml/metadata"
SSO_URL = "https://idp.corp.example/saml/sso"
PASSWORD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
CAROL = {"mail": ["carol@corp.example"], "givenName": ["Carol"], "sn": ["Upstream"],
         "displayName": ["Carol Upstream"]}


def xmlsec_missing() -> bool:
    return shutil.which("xmlsec1") is None


def make_keypair(directory: Path, name: str) -> tuple[str, str]:
    """A 2048-bit RSA key and a self-signed certificate as PEM files; their paths."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)


class SamlIdp:
    """pysaml2's IdP, with a key of its own; `respond` signs as asked."""

    def __init__(self, directory: Path, name: str = "idp", entity_id: str = ENTITY_ID):
        self.entity_id = entity_id
        self.key_file, self.cert_file = make_keypair(directory, name)
        self.sp_metadata: str | None = None

    def _config(self, lifetime_minutes: int = 5) -> IdPConfig:
        conf = {
            "entityid": self.entity_id, "key_file": self.key_file, "cert_file": self.cert_file,
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [(SSO_URL, BINDING_HTTP_REDIRECT)]},
                "policy": {"default": {"lifetime": {"minutes": lifetime_minutes},
                                       "attribute_restrictions": None}}}},
        }
        if self.sp_metadata:
            conf["metadata"] = {"inline": [self.sp_metadata]}
        config = IdPConfig()
        config.load(conf)
        return config

    @property
    def metadata(self) -> str:
        """The IdP metadata (entity id, SSO service, signing certificate)."""
        text = metadata_tostring_fix(entity_descriptor(self._config()),
                                     {"xs": "http://www.w3.org/2001/XMLSchema"})
        return text.decode() if isinstance(text, bytes) else text

    def request(self, location: str):
        """Our AuthnRequest, from the redirect to the IdP's SSO URL."""
        assert location.startswith(SSO_URL + "?"), location
        query = parse_qs(urlsplit(location).query)
        return Server(config=self._config()).parse_authn_request(
            query["SAMLRequest"][0], BINDING_HTTP_REDIRECT).message

    def response_xml(self, *, in_response_to: str | None, destination: str, audience: str,
                     subject: str = "carol-0001", attributes: dict | None = None,
                     sign_assertion: bool = True, sign_response: bool = False,
                     lifetime_minutes: int = 5) -> str:
        """A Response as XML text, signed as asked with this IdP's key."""
        server = Server(config=self._config(lifetime_minutes))
        response = server.create_authn_response(
            CAROL if attributes is None else attributes, in_response_to, destination, audience,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject),
            authn={"class_ref": PASSWORD_CLASS, "authn_auth": self.entity_id},
            sign_assertion=sign_assertion, sign_response=sign_response)
        return str(response)

    def respond(self, location: str, **kw) -> str:
        """A base64 SAMLResponse answering the AuthnRequest in `location`."""
        request = self.request(location)
        kw.setdefault("in_response_to", request.id)
        kw.setdefault("destination", request.assertion_consumer_service_url)
        kw.setdefault("audience", request.issuer.text)
        return encode(self.response_xml(**kw))


def encode(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()

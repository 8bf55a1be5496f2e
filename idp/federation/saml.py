"""The SAML 2.0 service provider side (Web Browser SSO profile): pysaml2 with xmlsec1 builds
the AuthnRequest (HTTP-Redirect binding) and checks the Response at the assertion consumer
service (HTTP-POST binding). The IdP's metadata is stored with the provider; nothing is
fetched at sign-in.

What pysaml2 checks for us (SAML 2.0 Core, Profiles 4.1.4.3, 4.1.4.5): the XML signature of
the response or of every assertion against the IdP's metadata certificates (one signed
element required), the signed element being the one read (xmlsec1 with the ID attribute,
which is what refuses signature wrapping), Issuer, Destination/Recipient = our ACS,
Audience = our entity id, NotBefore/NotOnOrAfter, InResponseTo = the request we sent.
What we add: one assertion ID accepted once (replay), a NameID that is not transient.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime

# pysaml2 names a cipher mode cryptography deprecates (a warning at import, see pyproject).
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.mdstore import InMemoryMetaData
from saml2.metadata import entity_descriptor, metadata_tostring_fix
from saml2.response import StatusError
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT
from saml2.sigver import SignatureError, get_xmlsec_binary

from idp.federation.oidc import FederationError
from idp.models.federation import IdentityProvider
from idp.outbound import OutboundPolicy, OutboundRefused, send

log = logging.getLogger("idp.federation")
MAX_METADATA = 512 * 1024
MAX_RESPONSE = 256 * 1024  # base64 SAMLResponse accepted at the ACS
# Attribute names (friendly, as pysaml2 converts the standard OIDs, or the claim URIs
# Entra ID / ADFS send) → our claims. The first one present wins.
ATTRIBUTES = {
    "email": ("mail", "email", "emailAddress", "Email",
              "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"),
    "given_name": ("givenName", "given_name", "firstName",
                   "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"),
    "family_name": ("sn", "surname", "family_name", "lastName",
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"),
    "name": ("displayName", "cn", "name",
             "http://schemas.microsoft.com/identity/claims/displayname"),
    "groups": ("groups", "memberOf", "isMemberOf", "Groups",
               "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"),
}


def sp_entity_id(acs_url: str) -> str:
    """Our entity id for this provider: the URL our SP metadata is published at."""
    return acs_url.removesuffix("/callback") + "/metadata"


def read_metadata(xml: str) -> str:
    """The IdP's entity id, once the metadata has an IdP with an HTTP-Redirect SSO service
    and a signing certificate; ValueError with a sentence otherwise."""
    store = InMemoryMetaData(None, xml)
    try:
        store.load()
    except Exception as exc:  # pysaml2 raises many kinds for bad XML  # noqa: BLE001
        raise ValueError(f"the SAML metadata could not be read ({exc.__class__.__name__})") \
            from None
    idps = [eid for eid, ent in store.items() if "idpsso_descriptor" in ent]
    if len(idps) != 1:
        raise ValueError("the SAML metadata must describe exactly one identity provider")
    if not store.service(idps[0], "idpsso_descriptor", "single_sign_on_service",
                         BINDING_HTTP_REDIRECT):
        raise ValueError("the identity provider has no HTTP-Redirect SingleSignOnService")
    if not store.certs(idps[0], "idpsso", use="signing"):
        raise ValueError("the identity provider's metadata has no signing certificate")
    return idps[0]


def fetch_metadata(url: str, policy: OutboundPolicy) -> str:
    """The IdP metadata at `url`, through the outbound guard."""
    try:
        answer = send(url, policy, headers={"Accept": "application/samlmetadata+xml"},
                      max_bytes=MAX_METADATA)
    except OutboundRefused as exc:
        log.warning("SAML metadata fetch refused: %s", exc.reason)
        raise ValueError("the metadata URL could not be read (see IDP_OUTBOUND_ALLOW)") from None
    if answer.status != 200:
        raise ValueError(f"the metadata URL answered {answer.status}")
    return answer.body.decode("utf-8", "replace")


def _config(provider: IdentityProvider, acs_url: str, unsolicited: bool = False) -> SPConfig:
    config = SPConfig()
    config.load({
        "entityid": sp_entity_id(acs_url),
        "xmlsec_binary": get_xmlsec_binary(["/usr/bin", "/usr/local/bin"]),
        "metadata": {"inline": [provider.saml_metadata]},
        "allow_unknown_attributes": True,
        "accepted_time_diff": 60,  # seconds of clock skew, as for OIDC
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]},
            "want_assertions_or_response_signed": True,
            "want_response_signed": False, "want_assertions_signed": False,
            "authn_requests_signed": False,
            "allow_unsolicited": unsolicited,
            "name_id_format": [NAMEID_FORMAT_PERSISTENT],
        }},
    })
    return config


def client(provider: IdentityProvider, acs_url: str, unsolicited: bool = False) -> Saml2Client:
    """pysaml2's SP for this provider (`unsolicited`: an IdP-initiated response is read)."""
    return Saml2Client(_config(provider, acs_url, unsolicited))


def metadata(provider: IdentityProvider, acs_url: str) -> str:
    """Our SP metadata for this provider (entity id, ACS with the HTTP-POST binding)."""
    text = metadata_tostring_fix(entity_descriptor(_config(provider, acs_url)),
                                 {"xs": "http://www.w3.org/2001/XMLSchema"})
    return text.decode() if isinstance(text, bytes) else text


def start(provider: IdentityProvider, _secret, _policy, acs_url: str,
          login_hint: str | None = None) -> tuple[str, dict]:
    """The IdP's SSO URL carrying our AuthnRequest, and the request id the ACS expects."""
    request_id, info = client(provider, acs_url).prepare_for_authenticate(
        entityid=provider.issuer, binding=BINDING_HTTP_REDIRECT)
    return dict(info["headers"])["Location"], {"request_id": request_id}


def _decode(form: dict) -> str:
    raw = form.get("SAMLResponse")
    if not isinstance(raw, str) or not raw or len(raw) > MAX_RESPONSE:
        raise FederationError("no SAMLResponse in the POST")
    try:
        base64.b64decode(raw, validate=False)
    except ValueError:
        raise FederationError("SAMLResponse is not base64") from None
    return raw


def _claims(response) -> dict:
    name_id = response.name_id
    if name_id is None or not (name_id.text or "").strip():
        raise FederationError("the assertion has no NameID")
    if name_id.format == NAMEID_FORMAT_TRANSIENT:
        raise FederationError("a transient NameID cannot identify a person; ask the IdP for "
                              "a persistent one")
    attributes = response.ava or {}
    claims = {"sub": name_id.text.strip()[:255], "email_verified": False}
    for claim, names in ATTRIBUTES.items():
        values = next((attributes[n] for n in names if attributes.get(n)), None)
        if values:
            claims[claim] = [str(v) for v in values] if claim == "groups" else str(values[0])
    if "email" not in claims and "@" in claims["sub"]:
        claims["email"] = claims["sub"]  # NameID format emailAddress
    expires = response.not_on_or_after or 0
    claims["saml_assertion"] = {
        "id": response.assertion.id,
        "expires": datetime.fromtimestamp(expires, UTC) if expires else None}
    return claims


def finish(provider: IdentityProvider, _secret, _policy, acs_url: str, saved: dict,
           form: dict) -> dict:
    """Check the POSTed Response (see the module docstring); returns OIDC-style claims and
    `saml_assertion` {id, expires} for the replay check."""
    raw = _decode(form)
    outstanding = {saved["request_id"]: "sp"} if saved.get("request_id") else {}
    if not outstanding and not provider.allow_idp_initiated:
        raise FederationError("unsolicited SAML response (no sign-in was started here)",
                              "This sign-in link is stale. Start again from the sign-in page.")
    try:
        response = client(provider, acs_url, not outstanding).parse_authn_request_response(
            raw, BINDING_HTTP_POST, outstanding=outstanding)
    except StatusError as exc:
        raise FederationError(f"IdP status: {exc}"[:300],
                              "Your provider refused the sign-in.") from None
    except SignatureError as exc:
        raise FederationError(f"signature refused: {exc}"[:300]) from None
    except Exception as exc:  # pysaml2 reports each failed check with its own type  # noqa: BLE001
        raise FederationError(f"SAML response refused: {exc.__class__.__name__}: {exc}"[:300]) \
            from None
    if response is None or response.assertion is None:
        raise FederationError("SAML response refused (no usable assertion)")
    if response.issuer() != provider.issuer:
        raise FederationError("SAML response from another issuer")
    if not outstanding and response.in_response_to:
        # IdP-initiated means no request: an InResponseTo names one of another browser.
        raise FederationError("unsolicited SAML response names a request")
    return _claims(response)

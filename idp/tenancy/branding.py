"""A tenant's branding (issue 16): display name, logo, primary colour, mail sender.

Stored under `Tenant.settings["branding"]` and checked here, for the admin API and the
console alike (through `tenant_settings.clean_settings`). Nothing a tenant admin types
reaches a page unescaped: the colour must be `#rrggbb` (so the generated stylesheet can
hold nothing else), the logo must be a PNG, JPEG or WebP by its bytes (no SVG, which can
carry script) of at most MAX_LOGO_BYTES, and it is served from our own origin, so the
page's Content-Security-Policy stays `img-src 'self'; style-src 'self'`.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from email_validator import EmailNotValidError, validate_email

from idp.errors import ValidationFailed

KEYS = ("display_name", "primary_color", "logo", "mail_from_name", "mail_from_address")
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
MAX_NAME = 100
MAX_LOGO_BYTES = 64 * 1024
# WCAG 2.1 SC 1.4.3 (AA): 4.5:1 for normal text; buttons show white text on the colour,
# links show the colour on white, so one check covers both.
MIN_CONTRAST = 4.5
LOGO_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
DEFAULT_NAME = "idp"


@dataclass(frozen=True)
class Brand:
    name: str = DEFAULT_NAME
    primary_color: str | None = None
    has_logo: bool = False
    mail_from_name: str | None = None
    mail_from_address: str | None = None


def _fail(field: str, message: str):
    raise ValidationFailed(f"{field}: {message}", field=field)


def _relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of `#rrggbb`."""
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1 contrast ratio of two `#rrggbb` colours (1 to 21)."""
    light, dark = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def logo_type(data: bytes) -> str | None:
    """The image type by magic bytes (PNG, JPEG, WebP), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in LOGO_TYPES if data.startswith(magic)), None)


def decode_logo(value: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of a stored `data:<type>;base64,...` logo, or None."""
    head, _, payload = value.partition(",")
    if not head.startswith("data:") or not head.endswith(";base64"):
        return None
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    kind = logo_type(data)
    return (data, kind) if kind else None


def _text(field: str, value, maximum: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > maximum:
        _fail(field, f"must be text of 1 to {maximum} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        _fail(field, "must not contain control characters.")
    return value.strip()


def _colour(field: str, value) -> str:
    if not isinstance(value, str) or not COLOUR.fullmatch(value):
        _fail(field, "must be a colour written #rrggbb.")
    ratio = contrast_ratio(value, "#ffffff")
    if ratio < MIN_CONTRAST:
        _fail(field, f"has a contrast of {ratio:.2f}:1 with white text; WCAG AA needs "
                     f"{MIN_CONTRAST}:1. Choose a darker colour.")
    return value.lower()


def _logo(field: str, value) -> str:
    if not isinstance(value, str) or len(value) > MAX_LOGO_BYTES * 4 // 3 + 64:
        _fail(field, f"must be a data: URL of a PNG, JPEG or WebP image of at most "
                     f"{MAX_LOGO_BYTES // 1024} KiB.")
    decoded = decode_logo(value)
    if decoded is None or len(decoded[0]) > MAX_LOGO_BYTES:
        _fail(field, f"must be a data: URL of a PNG, JPEG or WebP image of at most "
                     f"{MAX_LOGO_BYTES // 1024} KiB.")
    data, kind = decoded
    return f"data:{kind};base64," + base64.b64encode(data).decode()


def _address(field: str, value) -> str:
    if not isinstance(value, str) or len(value) > 254:
        _fail(field, "must be an email address.")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        _fail(field, "must be an email address.")


def clean_branding(field: str, value) -> dict:
    """The branding object checked key by key; ValidationFailed names the field."""
    if not isinstance(value, dict):
        _fail(field, "must be an object with " + ", ".join(KEYS) + ".")
    checks = {"display_name": lambda f, v: _text(f, v, MAX_NAME), "primary_color": _colour,
              "logo": _logo, "mail_from_name": lambda f, v: _text(f, v, MAX_NAME),
              "mail_from_address": _address}
    cleaned = {}
    for key, item in value.items():
        if key not in checks:
            _fail(f"{field}.{key}", "is not a branding setting (known: " + ", ".join(KEYS) + ").")
        cleaned[key] = None if item is None else checks[key](f"{field}.{key}", item)
    return cleaned


def sender_of(brand: Brand, default_from: str) -> str | None:
    """`Name <address>` of a brand that sets a mail sender; None: the deployment's
    IDP_MAIL_FROM (`default_from`), whose address a brand with only a name keeps."""
    if not brand.mail_from_address and not brand.mail_from_name:
        return None
    return formataddr((brand.mail_from_name or brand.name,
                       brand.mail_from_address or parseaddr(default_from)[1]))


def brand_of(settings: dict | None) -> Brand:
    """The Brand a tenant's settings describe; the default theme when they set nothing."""
    branding = (settings or {}).get("branding") or {}
    return Brand(name=branding.get("display_name") or DEFAULT_NAME,
                 primary_color=branding.get("primary_color"),
                 has_logo=bool(branding.get("logo")),
                 mail_from_name=branding.get("mail_from_name"),
                 mail_from_address=branding.get("mail_from_address"))


def _darker(colour: str, factor: float = 0.82) -> str:
    return "#" + "".join(f"{int(int(colour[i:i + 2], 16) * factor):02x}" for i in (1, 3, 5))


def theme_css(brand: Brand) -> str:
    """The stylesheet of a brand: CSS custom properties from a checked `#rrggbb` only."""
    colour = brand.primary_color
    if not colour or not COLOUR.fullmatch(colour):
        return ""
    return f":root {{ --accent:{colour}; --accent-dark:{_darker(colour)}; }}\n"


DEFAULT_ACCENT = "#2d5be3"
_LINK = re.compile(r"https?://[^\s<>\"']+")


def mail_html(brand: Brand, subject: str, body: str, lang: str = "en") -> str:
    """The HTML part of a mail: the plain-text body, escaped, in paragraphs, its links made
    clickable, under the tenant's name in its checked primary colour (the default otherwise).
    The plain text stays the first part, so every mail reader has it."""
    colour = brand.primary_color if brand.primary_color and COLOUR.fullmatch(
        brand.primary_color) else DEFAULT_ACCENT

    def paragraph(text: str) -> str:
        out, last = [], 0
        for match in _LINK.finditer(text):
            out.append(html.escape(text[last:match.start()]))
            url = html.escape(match.group(0))
            out.append(f'<a href="{url}" style="color:{colour}">{url}</a>')
            last = match.end()
        out.append(html.escape(text[last:]))
        return "<p>" + "".join(out).replace("\n", "<br>\n") + "</p>"

    paragraphs = "\n".join(paragraph(p.strip("\n")) for p in re.split(r"\n\s*\n", body.strip())
                           if p.strip())
    name = html.escape(brand.name)
    return (f'<!doctype html>\n<html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(subject)}</title></head>\n"
            '<body style="margin:0;padding:24px;background:#f4f6fa;color:#1d2330;'
            'font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;line-height:1.5">\n'
            '<div style="max-width:560px;margin:0 auto;background:#fff;border-radius:12px;'
            f'border-top:4px solid {colour};padding:24px">\n'
            f'<p style="margin:0 0 16px;font-weight:700;color:{colour}">{name}</p>\n'
            f"{paragraphs}\n</div>\n</body></html>\n")

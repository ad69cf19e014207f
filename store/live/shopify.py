"""Shopify webhooks. (Placeholder by the `ingest` branch: only the signature check the route needs; the
`shopify` branch owns this module and its mapping.)"""
from __future__ import annotations

import base64
import hashlib
import hmac


def verify_hmac(secret: bytes, body: bytes, header: str | None) -> bool:
    """X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body with the shop's shared secret."""
    if not secret or not header or len(header) > 100:
        return False
    expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode("ascii")
    return hmac.compare_digest(expected, header.strip())

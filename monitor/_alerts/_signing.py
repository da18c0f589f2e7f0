"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is ``f"{msg_id}.{timestamp}."`` followed by the raw body; the signature is
``v1,`` plus the base64 HMAC-SHA256 of it. A secret is ``whsec_<base64>``, its key in base64
(padding optional), as the Standard Webhooks libraries read it; anything else is refused,
since a receiver using such a library would decode it differently and never verify a
signature. No message here ever contains the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key of ``secret``; ``ValueError`` (without the secret) if it is unusable."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(
            "webhook secret must start with 'whsec_' followed by base64 (Standard Webhooks)"
        )
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret is not valid base64 after 'whsec_'") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one message: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")

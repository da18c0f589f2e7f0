"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is ``f"{msg_id}.{timestamp}."`` followed by the raw body; the signature is
``v1,`` plus the base64 HMAC-SHA256 of it. A secret ``whsec_<base64>`` carries its key in
base64; any other secret is used as its UTF-8 bytes. No message here ever contains the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key of ``secret``; ``ValueError`` (without the secret) if it is unusable."""
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("webhook secret is not valid base64 after 'whsec_'") from None
    else:
        key = secret.encode("utf-8")
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one message: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")

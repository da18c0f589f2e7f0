"""Deliver an alert as one Standard-Webhooks-signed ``POST``.

Outcome of one attempt (the caller's retry schedule decides when to try again):

* 2xx — delivered.
* 410 Gone — :class:`EndpointGoneError`: the receiver disabled the endpoint; stop sending.
* 400, 413, 415, 422 — ``DeliveryError(retryable=False)``: the receiver rejected *this
  payload*; resending the same bytes gets the same answer.
* Any other status (3xx — redirects are never followed —, 401, 403, 404, 408, 429, 5xx, ...),
  connection errors and timeouts — ``DeliveryError(retryable=True)``. Standard Webhooks
  asks senders to retry every non-2xx answer, and these describe the *receiver's* state
  (overloaded, mid-deploy, secret being rotated) which can change before the schedule ends.

Error messages name the endpoint by scheme, host and port only: neither the secret nor a token
that may sit in the URL's path, query or user-info ever appears in them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urlsplit

import httpx

from monitor._config import WebhookConfig
from monitor._errors import ConfigError, DeliveryError, EndpointGoneError
from monitor._models import Alert

from ._render import webhook_headers, webhook_payload
from ._signing import secret_key

PERMANENT_STATUSES = frozenset({400, 413, 415, 422})


def endpoint_label(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` — safe to show in messages and logs."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid webhook url>"
    return f"{parts.scheme or '?'}://{host}{port}"


class WebhookSender:
    """Posts alerts to one webhook endpoint through a shared ``httpx.AsyncClient``."""

    kind: ClassVar[str] = "webhook"
    concurrency: ClassVar[int] = 8  # requests at once

    def __init__(self, cfg: WebhookConfig, client: httpx.AsyncClient) -> None:
        if cfg.secret:
            try:
                secret_key(cfg.secret)
            except ValueError as exc:
                raise ConfigError(f"webhook {endpoint_label(cfg.url)}: {exc}") from None
        self._cfg = cfg
        self._client = client
        self._label = endpoint_label(cfg.url)

    def __repr__(self) -> str:
        return f"WebhookSender({self._label!r}, signed={bool(self._cfg.secret)})"

    async def send(
        self,
        alert: Alert,
        *,
        now: datetime | None = None,
        recipients: Sequence[str] | None = None,  # a webhook has one receiver: unused
    ) -> None:
        """Deliver ``alert`` once; raise :class:`DeliveryError` if it was not accepted."""
        body = webhook_payload(alert)
        headers = webhook_headers(alert.id, body, self._cfg.secret, now or datetime.now(UTC))
        status = await self._post(body, headers)
        if 200 <= status < 300:
            return
        where = f"webhook {self._label} answered {status}"
        if status == 410:
            raise EndpointGoneError(f"{where} (Gone): endpoint disabled by the receiver")
        raise DeliveryError(where, retryable=status not in PERMANENT_STATUSES)

    async def _post(self, body: bytes, headers: dict[str, str]) -> int:
        """POST and return the status; the response body is never read."""
        timeout = self._cfg.timeout
        try:
            async with asyncio.timeout(timeout * 2):  # bound a receiver that drips its answer
                async with self._client.stream(
                    "POST",
                    self._cfg.url,
                    content=body,
                    headers=headers,
                    timeout=timeout,
                    follow_redirects=False,
                ) as response:
                    return response.status_code
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
            raise DeliveryError(
                f"webhook {self._label}: cannot send ({type(exc).__name__})", retryable=False
            ) from None
        except (httpx.TimeoutException, TimeoutError):
            raise DeliveryError(f"webhook {self._label}: timed out after {timeout:g}s") from None
        except httpx.HTTPError as exc:  # transport failures, and whatever else httpx raises
            raise DeliveryError(
                f"webhook {self._label}: {type(exc).__name__}: {self._scrub(str(exc))}"
            ) from None

    def _scrub(self, detail: str) -> str:
        """A library message, cut short, with the URL and the secret blanked out."""
        for sensitive in (self._cfg.url, self._cfg.secret):
            if sensitive:
                detail = detail.replace(sensitive, "***")
        return detail[:200]

"""``[feedback]``: the judge pages of ``monitor run`` and the links alerts carry to them."""

from __future__ import annotations

from typing import Any

from ._config_alerts import AlertsSection
from ._config_model import FeedbackConfig
from ._config_monitor import MonitorSection
from ._urls import FeedUrlError, checked_feed_url

_EVERY_ADDRESS = ("0.0.0.0", "::")  # a wildcard listen: no address a link can name


def _short(secret: str) -> str | None:
    return "expected a secret of at least 16 characters" if len(secret.strip()) < 16 else None


class FeedbackSection(MonitorSection, AlertsSection):
    def feedback(self, raw: Any) -> FeedbackConfig:
        """``listen`` (required), ``url`` (default ``http://LISTEN``) and the signing secret
        (``secret_env`` or ``secret_file``: never in the config, as the SMTP password)."""
        with self.table("feedback", raw) as t:
            listen = self.listen_address(t, "listen")
            if listen is None:
                self.fail(t.key("listen"), 'expected an address "host:port" to serve the pages on')
            host, port = listen
            t.used.add("url")  # a known key, listed when another is misspelt
            if "url" in t.data:
                url = self.http_url(t, "url")
                try:  # what no browser could open, as a feed's address is checked
                    parts = checked_feed_url(url)
                except FeedUrlError as exc:
                    self.fail(t.key("url"), exc.expected, url)
                if parts.query or parts.fragment or "?" in url or "#" in url:
                    self.fail(t.key("url"), "expected a base URL with no query or fragment", url)
                if "@" in parts.netloc:
                    self.fail(t.key("url"), "expected a URL without credentials (it is mailed)")
            elif host in _EVERY_ADDRESS:
                self.fail(
                    t.key("url"),
                    f"listening on every address ({host}), say how browsers reach the pages: "
                    'url = "https://monitor.example.org"',
                )
            else:
                url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
            secret = self.secret(t, "secret", inline=False, check=_short)
            if secret is None and not any(k in t.data for k in ("secret_env", "secret_file")):
                self.fail(
                    t.key("secret_env"),
                    "the links must be signed: name an environment variable (secret_env) or "
                    "a file (secret_file) that holds a secret",
                )
        return FeedbackConfig(listen=listen, url=url.rstrip("/"), secret=secret)

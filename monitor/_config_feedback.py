"""``[feedback]``: the judge pages of ``monitor run`` and the links alerts carry to them."""

from __future__ import annotations

from typing import Any

from ._config_alerts import AlertsSection
from ._config_model import FeedbackConfig
from ._config_monitor import MonitorSection


class FeedbackSection(MonitorSection, AlertsSection):
    def feedback(self, raw: Any) -> FeedbackConfig:
        """``listen`` (required), ``url`` (default ``http://LISTEN``) and the signing secret
        (``secret_env`` or ``secret_file``: never in the config, as the SMTP password)."""
        with self.table("feedback", raw) as t:
            listen = self.listen_address(t, "listen")
            if listen is None:
                self.fail(t.key("listen"), 'expected an address "host:port" to serve the pages on')
            host, port = listen
            default = f"http://{f'[{host}]' if ':' in host else host}:{port}"
            url = self.http_url(t, "url") if "url" in t.data else default
            secret = self.secret(t, "secret", inline=False)
            if secret is None and not any(k in t.data for k in ("secret_env", "secret_file")):
                self.fail(
                    t.key("secret_env"),
                    "the links must be signed: name an environment variable (secret_env) or "
                    "a file (secret_file) that holds a secret",
                )
            if secret is not None and len(secret) < 16:
                self.fail(t.key("secret"), "expected a secret of at least 16 characters")
        return FeedbackConfig(listen=listen, url=url.rstrip("/"), secret=secret)

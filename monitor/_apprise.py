"""Apprise as an alert channel (``[alerts.apprise]``): one dependency for ntfy, Slack,
Telegram, Matrix, Discord, Gotify, Pushover … (https://github.com/caronc/apprise).

The channel is ``apprise``: one outbox row per hit for all the configured URLs, so when one
of several targets fails, the retry goes to all of them (the others get a repeat, as with any
at-least-once delivery). Apprise URLs carry tokens: no message of this module names one;
Apprise's own log lines are kept to warnings and above. Needs the optional ``apprise``
package (``pip install 'monitor[apprise]'``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from ._alerts._mail_body import text_body
from ._alerts._safe import TITLE_LIMIT, one_line
from ._config import Config
from ._errors import ConfigError, DeliveryError
from ._models import Alert


def notification(alert: Alert) -> tuple[str, str]:
    """(title, body) as plain text: the email's text body, a one-line title. Pure."""
    title = one_line(f"[monitor:{alert.topic}] {alert.title}", TITLE_LIMIT)
    return title, text_body(alert)


class AppriseSender:
    kind = "apprise"
    concurrency: ClassVar[int] = 2  # notifications at once (each in a worker thread)

    def __init__(self, config: Config) -> None:
        settings = config.apprise
        assert settings is not None
        try:
            import apprise
        except ImportError:
            raise ConfigError(
                f"{config.path}: alerts.apprise: needs the apprise package; install it with "
                "pip install 'monitor[apprise]' or remove [alerts.apprise]"
            ) from None
        apprise_log = logging.getLogger("apprise")
        self._format = apprise.NotifyFormat.TEXT
        self._timeout = settings.timeout
        self._apprise: Any = apprise.Apprise()
        # Apprise logs a URL it cannot parse whole ("Unparseable URL slak://…/<token>"): it
        # stays silent while the URLs are read; our error names the key, not the URL.
        apprise_log.setLevel(logging.CRITICAL + 1)
        try:
            for i, url in enumerate(settings.urls):
                if not self._apprise.add(url):
                    scheme = url.split("://", 1)[0]
                    raise ConfigError(
                        f"{config.path}: alerts.apprise: URL {i + 1} (scheme {scheme!r}) is "
                        "not one Apprise understands (see its wiki for the URL of each service)"
                    )
        finally:
            apprise_log.setLevel(logging.WARNING)
        self._count = len(settings.urls)

    async def send(self, alert: Alert, *, recipients: Sequence[str] | None = None) -> None:
        """Notify every configured target once (``recipients`` does not apply here)."""
        title, body = notification(alert)
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as the send ends (see _waits), and the deliverer would go on after
        # shutdown began. The worker thread itself cannot be stopped: Apprise's own timeouts
        # end it.
        try:
            async with asyncio.timeout(self._timeout):
                result = await asyncio.to_thread(
                    self._apprise.notify, body=body, title=title, body_format=self._format
                )
        except TimeoutError:
            raise DeliveryError(f"apprise: no answer within {self._timeout:g} s") from None
        if not result:
            failed = getattr(result, "failed_count", None)
            which = f"{failed} of {self._count}" if isinstance(failed, int) else "a"
            raise DeliveryError(
                f"apprise: {which} target(s) did not accept the alert "
                "(Apprise's warning above says which service)"
            )


def extra_senders(config: Config) -> list[AppriseSender]:
    """The channels added by issue 13 (only Apprise), for ``open_runtime``."""
    return [AppriseSender(config)] if config.apprise is not None else []

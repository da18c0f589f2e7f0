"""``[alerts]``: the retry schedule, ``feed_health``, and the channels (webhook, email with
its digest schedule, Apprise); secrets from the environment or a file, never in messages."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from ._config_model import (
    DEFAULT_RETRY_SCHEDULE,
    AppriseConfig,
    EmailConfig,
    WebhookConfig,
)
from ._config_read import LoaderBase, Table
from ._digest_quiet import in_window, parse_window
from ._durations import parse_duration

_CLOCK = re.compile(r"[0-9]{1,2}:[0-9]{2}")  # "8:00", "18:30" (ASCII digits)


class AlertsSection(LoaderBase):
    def alerts(self, raw: Any) -> dict[str, Any]:
        """The ``[alerts]`` fields of :class:`Config`, by name."""
        with self.table("alerts", raw) as t:
            schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
            t.used.add("retry_schedule")  # a known key, listed when another is misspelt
            if "retry_schedule" in t.data:
                values = t.get("retry_schedule", list, expected="a list of durations")
                try:
                    schedule = tuple(parse_duration(v) for v in values)
                except (ValueError, TypeError):
                    self.fail(
                        t.key("retry_schedule"),
                        "expected a list of durations such as ['5s', '5m', '2h']",
                        values,
                    )
            feed_health: bool = t.get("feed_health", bool, False, expected="true or false")
            webhook_raw = t.get("webhook", dict, None)
            email_raw = t.get("email", dict, None)
            apprise_raw = t.get("apprise", dict, None)
        webhook = None if webhook_raw is None else self.webhook(webhook_raw)
        email = None if email_raw is None else self.email(email_raw)
        apprise = None if apprise_raw is None else self.apprise(apprise_raw)
        return {
            "webhook": webhook,
            "email": email,
            "retry_schedule": schedule,
            "apprise": apprise,
            "feed_health": feed_health,
        }

    def apprise(self, raw: Any) -> AppriseConfig:
        """``urls`` (a list), ``urls_env`` (a variable holding URLs separated by spaces or
        newlines) or ``urls_file`` (one URL a line): Apprise URLs carry tokens, so the
        environment or a file is the better place. Messages name the key, never a URL."""
        with self.table("alerts.apprise", raw) as t:
            sources = [k for k in ("urls", "urls_env", "urls_file") if k in t.data]
            t.used.update(("urls", "urls_env", "urls_file"))
            if len(sources) != 1:
                hint = t.hint("urls", "urls_env", "urls_file")
                self.fail(t.key("urls"), f"give exactly one of urls, urls_env, urls_file{hint}")
            key = sources[0]
            value = t.data[key]
            if key == "urls":
                if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
                    self.fail(t.key(key), "expected a list of Apprise URLs")
                urls = [u.strip() for u in value if u.strip()]
            else:
                if not isinstance(value, str) or not value:
                    self.fail(t.key(key), "expected a non-empty string")
                if key == "urls_env":
                    text = os.environ.get(value, "")
                    if not text.strip() and self.secrets:
                        self.fail(t.key(key), f"the environment variable {value} is not set")
                else:
                    try:
                        text = self.file(value, t.key(key)).read_text(encoding="utf-8")
                    except OSError as exc:
                        if self.secrets:
                            path = self.file(value, t.key(key))
                            self.fail(t.key(key), f"cannot read {path}: {exc.strerror}")
                        text = ""
                urls = [u for u in text.split() if not u.startswith("#")]
            if not urls and (key == "urls" or self.secrets):
                self.fail(t.key(key), "expected at least one Apprise URL")
            for i, url in enumerate(urls, 1):  # positions as a reader counts them
                if "://" not in url:
                    self.fail(f"{t.key(key)}[{i}]", "expected an Apprise URL such as ntfy://…")
            timeout = self.duration(t, "timeout", 30.0, minimum=0.1)
        return AppriseConfig(urls=tuple(urls), timeout=timeout)

    def secret(
        self,
        t: Table,
        name: str,
        *,
        inline: bool,
        check: Callable[[str], str | None] | None = None,
    ) -> str | None:
        """A secret from ``name`` (inline, if allowed), ``name_env`` or ``name_file``;
        ``check`` returns what is wrong with its value (an error naming the key the user wrote
        and where the value came from, never the value), or None."""
        sources = [k for k in (name, f"{name}_env", f"{name}_file") if k in t.data]
        # known keys (listed when another is misspelt): not an inline secret that is refused
        t.used.update(k for k in (name, f"{name}_env", f"{name}_file") if inline or k != name)
        t.used.update(sources)
        if name in sources and not inline:  # refused whatever else is there (and said first)
            self.fail(
                t.key(name),
                f"put the secret in the environment ({name}_env) "
                f"or a file ({name}_file), not in the config",
            )
        if len(sources) > 1:
            self.fail(t.key(sources[1]), f"give only one of {', '.join(sources)}")
        if not sources:
            return None
        key = sources[0]
        value = t.data[key]
        if not isinstance(value, str) or not value:
            self.fail(t.key(key), "expected a non-empty string")
        if not self.secrets:
            return None
        if key == name:  # inline (allowed: refused above otherwise)
            secret, origin = value, ""
        elif key.endswith("_env"):
            secret, origin = os.environ.get(value, ""), f" (the environment variable {value})"
            if not secret:
                self.fail(t.key(key), f"the environment variable {value} is not set")
            if not secret.strip():  # as an empty secret_file is refused
                self.fail(t.key(key), f"the environment variable {value} holds only blanks")
        else:
            path = self.file(value, t.key(key))
            origin = f" (in {path})"
            try:
                secret = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                self.fail(t.key(key), f"cannot read {path}: {exc.strerror}")
            except UnicodeDecodeError:
                self.fail(t.key(key), f"{path} is not UTF-8 text")
            if not secret:
                self.fail(t.key(key), f"{path} is empty")
        problem = check(secret) if check is not None else None
        if problem is not None:
            self.fail(t.key(key), problem + origin)
        return secret

    def webhook(self, raw: Any) -> WebhookConfig:
        with self.table("alerts.webhook", raw) as t:
            url = self.http_url(t, "url")
            secret = self.secret(t, "secret", inline=True, check=_webhook_secret_problem)
            timeout = self.duration(t, "timeout", 10.0, minimum=0.1)
        return WebhookConfig(url=url, secret=secret, timeout=timeout)

    def email(self, raw: Any) -> EmailConfig:
        with self.table("alerts.email", raw) as t:
            host = t.get("host", str, required=True, expected="an SMTP host name").strip()
            if not host:
                self.fail(t.key("host"), "expected an SMTP host name", host)
            tls = t.get("tls", str, "starttls", expected='"starttls", "ssl" or "none"')
            if tls not in ("starttls", "ssl", "none"):
                self.fail(t.key("tls"), 'expected "starttls", "ssl" or "none"', tls)
            port = t.get(
                "port",
                int,
                {"ssl": 465, "starttls": 587, "none": 25}[tls],
                expected="a port number",
            )
            if not 0 < port < 65536:
                self.fail(t.key("port"), "expected a port number 1–65535", port)
            sender = t.get("sender", str, required=True, expected="an email address")
            recipients = t.strings("recipients")
            if not recipients:
                self.fail(
                    t.key("recipients"),
                    f"expected at least one email address{t.hint('recipients')}",
                )
            for address in (sender, *recipients):
                if "@" not in address or any(c in address for c in "\r\n,;<> "):
                    self.fail(
                        t.key("recipients" if address != sender else "sender"),
                        "expected a plain email address",
                        address,
                    )
            username = t.get("username", str, None, expected="a user name")
            if username is not None and not username.strip():
                self.fail(t.key("username"), "expected a user name", username)
            given = [k for k in ("password", "password_env", "password_file") if k in t.data]
            if "password" in t.data:  # refused: said first
                self.secret(t, "password", inline=False)  # (raises)
            if given and not username:
                hint = t.hint("username")
                self.fail(
                    t.key(given[0]), f"a password needs username (the login's user name){hint}"
                )
            if username and not given:
                hint = t.hint("password_env", "password_file")
                self.fail(
                    t.key("username"), f"needs password_env or password_file (the login){hint}"
                )
            password = self.secret(t, "password", inline=False)
            timeout = self.duration(t, "timeout", 30.0, minimum=0.1)
            mode, digest_at, digest_every, timezone = self.digest(t)
            quiet = self.quiet_hours(t, mode, digest_at if digest_every is None else ())
        return EmailConfig(
            host=host,
            port=port,
            tls=tls,
            sender=sender,
            recipients=recipients,
            username=username,
            password=password,
            timeout=timeout,
            mode=mode,
            digest_at=digest_at,
            digest_every=digest_every,
            timezone=timezone,
            quiet_hours=quiet,
        )

    def digest(self, t: Table) -> tuple[str, tuple[str, ...], float | None, str]:
        """``mode``, ``digest_at`` / ``digest_every``, ``timezone`` of ``[alerts.email]``."""
        mode = t.get("mode", str, "each", expected='"each" or "digest"')
        if mode not in ("each", "digest"):
            self.fail(t.key("mode"), 'expected "each" or "digest"', mode)
        timezone = t.get("timezone", str, "UTC", expected="a time zone such as 'Europe/Paris'")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(timezone)
        except (ValueError, KeyError, OSError):
            self.fail(t.key("timezone"), "expected a time zone such as 'Europe/Paris'", timezone)
        if mode != "digest":  # ignored otherwise: one mail per hit, and no word of why
            for key in ("digest_at", "digest_every", "timezone"):
                if key in t.data:
                    self.fail(t.key(key), 'applies to mode = "digest" only', t.data[key])
        if "digest_at" in t.data and "digest_every" in t.data:
            self.fail(t.key("digest_every"), "give only one of digest_at, digest_every")
        if isinstance(t.data.get("digest_at"), str):  # one time: as a list of one
            t.data["digest_at"] = [t.data["digest_at"]]
        written = t.strings("digest_at")
        if "digest_at" not in t.data:
            written = ("08:00",)
        elif not written:
            self.fail(t.key("digest_at"), "expected at least one time, such as ['08:00']")
        digest_at = []
        for moment in written:
            hour, _, minute = moment.strip().partition(":")
            if not (_CLOCK.fullmatch(moment.strip()) and int(hour) < 24 and int(minute) < 60):
                self.fail(t.key("digest_at"), "expected times such as ['08:00', '18:30']", moment)
            digest_at.append(f"{int(hour):02d}:{int(minute):02d}")  # "8:00" is 08:00
        every = None
        if "digest_every" in t.data:
            every = self.duration(t, "digest_every", 3600.0, minimum=1)
        else:
            t.used.add("digest_every")
        return mode, tuple(sorted(set(digest_at))), every, timezone

    def quiet_hours(
        self, t: Table, mode: str, digest_at: tuple[str, ...]
    ) -> tuple[str, str] | None:
        """``quiet_hours = "22:00-07:00"`` (digest mode only, in ``timezone``); every
        ``digest_at`` time inside it would mean no digest ever: refused."""
        text = t.get("quiet_hours", str, None, expected='a window such as "22:00-07:00"')
        if text is None:
            return None
        if mode != "digest":
            self.fail(t.key("quiet_hours"), 'applies to mode = "digest" only', text)
        try:
            window = parse_window(text)
        except ValueError as exc:
            self.fail(
                t.key("quiet_hours"), f'expected a window such as "22:00-07:00" ({exc})', text
            )
        if digest_at and all(in_window(moment, window) for moment in digest_at):
            self.fail(t.key("quiet_hours"), "every digest_at time falls inside it", text)
        return window


def _webhook_secret_problem(secret: str) -> str | None:
    from ._alerts._signing import secret_key  # here: _alerts imports this module

    try:
        secret_key(secret)
    except ValueError as exc:
        return f"expected 'whsec_<base64>': {exc}"
    return None

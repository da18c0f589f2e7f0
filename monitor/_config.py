"""Configuration: a TOML file → validated, frozen values.

Every key is checked; unknown keys are refused. Errors name the file, the key and what was
expected, e.g. ``config.toml: [[feeds]][2].interval: expected a duration such as '10m',
got 'soon'``.
Secrets (webhook secret, SMTP password) are read from the environment or a file the config
names and never appear in messages or reprs.

This module is the public face (``load_config`` and the values); the work is split by table:
``_config_model`` (the frozen values), ``_config_read`` (reading one table, the shared
checks), ``_config_monitor`` (``[monitor]``), ``_config_topics``, ``_config_feeds``,
``_config_alerts``, ``_config_feedback``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ._config_feedback import FeedbackSection
from ._config_feeds import FeedsSection, _default_name, settings_bounds
from ._config_model import (
    DEFAULT_RETRY_SCHEDULE,
    AppriseConfig,
    Config,
    EmailConfig,
    FeedbackConfig,
    FeedConfig,
    Settings,
    TopicConfig,
    WebhookConfig,
    is_postgres_url,
)
from ._config_topics import TopicsSection
from ._errors import ConfigError

__all__ = [
    "DEFAULT_RETRY_SCHEDULE",
    "AppriseConfig",
    "Config",
    "EmailConfig",
    "FeedConfig",
    "FeedbackConfig",
    "Settings",
    "TopicConfig",
    "WebhookConfig",
    "_default_name",
    "is_postgres_url",
    "load_config",
    "settings_bounds",
]


def load_config(path: Path, *, secrets: bool = True) -> Config:
    """Read and validate ``path``; raise :class:`ConfigError` naming file, key and expectation.

    ``secrets=False`` (commands that send nothing: ``hits``, ``search``, …): alert secrets
    are not looked up (their environment variables and files need not exist) and are
    ``None`` in the result."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return _Loader(path, secrets=secrets).config(raw)


class _Loader(FeedbackSection, TopicsSection, FeedsSection):
    """The whole file: one section reader per table (``_config_*``)."""

    def config(self, raw: dict[str, Any]) -> Config:
        with self.table("", raw) as top:
            settings = self.settings(top.get("monitor", dict, {}))
            topics = self.topics(top.get("topics", list, None, expected="an array of tables"))
            feeds = self.feeds(
                top.get("feeds", list, [], expected="an array of [[feeds]] tables"), settings
            )
            alerts = self.alerts(top.get("alerts", dict, {}))
            feedback_raw = top.get("feedback", dict, None)
        feedback = None if feedback_raw is None else self.feedback(feedback_raw)
        config = Config(self.path, settings, topics, feeds, **alerts, feedback=feedback)
        self.check_routes(topics, config.channels)
        return config

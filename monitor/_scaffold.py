"""What ``monitor init`` writes: a commented config.toml and a seeds folder. Pure: texts."""

from __future__ import annotations

import json

CONFIG = """\
# monitor configuration, written by `monitor init`. Every key is documented in README.md
# ("Configuration"). Paths are relative to this file. Secrets never go here: use the
# *_env or *_file keys.

[monitor]
database = "monitor.db"
interval = "10m"            # default poll interval per feed
# metrics = "127.0.0.1:9464" # /metrics (Prometheus) and /healthz of `monitor run`
# keep_items = "90d"        # delete items first seen longer ago (hits are kept)
# keep_hits = "365d"        # delete hits (and their sent alerts) detected longer ago

# One [[topics]] table per subject you follow. Its profile is learnt from the seeds in its
# folder, one per file: about four news items (headline and summary) or five articles, all
# squarely on the story (see seeds/README). `monitor topic check NAME` shows what they teach.
[[topics]]
name = {topic}
seeds = "seeds"
# threshold = 0.5           # scores are 0-1; raise for fewer, surer hits
# phrases = ["a phrase that is evidence"]
# exclude = ["a phrase that vetoes a hit"]
# channels = ["email"]      # where its hits are alerted (default: every channel below)

# Feeds: here (reviewed like code) or from the command line (`monitor feeds add URL`,
# `monitor opml import FILE`), which keeps them in the database.
# [[feeds]]
# name = "BBC World"
# url = "https://feeds.bbci.co.uk/news/world/rss.xml"
# interval = "15m"

# Alerts: a signed webhook, email and/or Apprise. Without any, hits are only stored.
# [alerts]
# feed_health = true        # also alert when a feed fails, goes silent or comes back
#
# [alerts.webhook]
# url = "https://hooks.example.org/monitor"
# secret_env = "MONITOR_WEBHOOK_SECRET"   # whsec_<base64>
#
# [alerts.email]
# host = "smtp.example.org"
# tls = "starttls"          # or "ssl" or "none"
# port = 587                # default: 587 with starttls, 465 with ssl, 25 with none
# sender = "monitor@example.org"
# recipients = ["desk@example.org"]
# username = "monitor"
# password_env = "MONITOR_SMTP_PASSWORD"
# mode = "digest"           # one message at each digest_at time instead of one per hit
# digest_at = ["08:00", "18:00"]
# timezone = "Europe/Paris"
# quiet_hours = "22:00-07:00"   # no digest inside; what waits goes in the next one
#
# [alerts.apprise]           # ntfy, Slack, Telegram, … (pip install 'monitor[apprise]')
# urls_env = "MONITOR_APPRISE_URLS"

# One-click judgements: alerts carry "not about the topic" / "about the topic" links to
# pages `monitor run` serves; the topic learns from them as from `monitor feedback`.
# [feedback]
# listen = "127.0.0.1:8787"
# url = "https://monitor.example.org"     # how your browser reaches it (default: http://listen)
# secret_env = "MONITOR_FEEDBACK_SECRET"  # signs the links (16+ characters)
"""

SEEDS_README = """\
Seeds: the examples a topic is learnt from
==========================================

Put here a few examples squarely about the story you want to follow, one per file: .txt
(plain text), .md or .html (tags, scripts and entities are stripped). This README has no
such suffix, so it is not read as a seed.

Two kinds work (measured on real feeds: README.md, "How relevance works"):
- about four news items as a feed reader shows them, pasted: the headline, with its summary
  or first sentence if there is one (a headline alone works nearly as well);
- or about five whole articles (or their first paragraphs).

What makes good seeds
- Items a person would want an alert for, from a few different outlets (the topic learns
  the story's words, not one outlet's style).
- All about the same story: the topic rests on what the seeds share.
- Nothing off-topic: a seed that is half about something else teaches that too.

Then
1. `monitor topic check NAME` shows the words and phrases the topic rests on, warns about
   seeds that share nothing or common news words, and, once items are stored, which of them
   would have hit.
2. `monitor eval labelled.jsonl` on items you have labelled (2 on topic, 0 off) shows
   precision, recall and the best threshold; or `monitor classify items.jsonl` shows each
   item's score and why.
3. Set `threshold` in config.toml if the calibrated default (0.5) is not the one you want.
4. `monitor once` polls every feed once; `monitor run` keeps going.
5. Judge hits with `monitor feedback hit_... --relevant|--irrelevant`: the topic learns.
"""


def scaffold(topic: str = "my-topic") -> dict[str, str]:
    """Relative path → text."""
    # a TOML basic string: JSON's escapes are TOML's (quotes, backslashes, control characters)
    quoted = json.dumps(topic, ensure_ascii=False)
    return {"config.toml": CONFIG.format(topic=quoted), "seeds/README": SEEDS_README}

"""The judge pages ``monitor run`` serves with ``[feedback]``: one click from an alert to a
judgement (``_judge`` makes the links and the pages).

A small threaded HTTP server on ``[feedback] listen``, in a daemon thread beside the event
loop, as ``/metrics`` is served. ``GET …/judge/HIT/VERDICT?sig=…`` shows the hit and a button;
the button's ``POST`` records the judgement as ``monitor feedback HIT --VERDICT`` does (a later
verdict replaces an earlier one), and the daemon takes it up within ``FEEDBACK_INTERVAL``.
Each request opens the database on its own connection (``open_store`` is given), so a slow
write waits in this thread, never on the event loop, and for a lock another session holds
at most ``DB_WAIT``: then the page says the database is busy and nothing was recorded (503,
``Retry-After``). A link whose signature does not match gets 403 and touches nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from contextlib import closing
from datetime import datetime
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from ._config import Config
from ._errors import BusyError, MonitorError
from ._httpd import Endpoint, Handler
from ._judge import page, parse_path, valid
from ._storage import BUSY_TIMEOUT_MS, Store, open_store
from ._times import utcnow

log = logging.getLogger(__name__)

_FORM_LIMIT = 2048  # bytes of a POST body: the form has one field
_TIMEOUT = 10.0  # seconds a connection may take to send its request
_BUTTON = {"irrelevant": "Not about the topic", "relevant": "About the topic"}
_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
# How long a page waits for a lock another session holds (an admin's `LOCK TABLE` in an open
# transaction, another process's long write) before it answers "busy, nothing was recorded,
# try again": a reader waits seconds, not until the other session ends, and the server thread
# is free again. SQLite's busy timeout is the same 5 s; on PostgreSQL it is the pages'
# connection's lock_timeout and statement_timeout (a page's statements take milliseconds).
DB_WAIT = BUSY_TIMEOUT_MS / 1000
_RETRY_AFTER = "10"  # seconds the busy page asks a client to wait (Retry-After)


class Reply(NamedTuple):
    status: int
    html: str
    headers: Mapping[str, str] = _PAGE_HEADERS


def judge_server(config: Config, pickup: float) -> JudgeServer | None:
    """The judge pages ``[feedback]`` asks for (not started), or None without it."""
    cfg = config.feedback
    if cfg is None or cfg.secret is None:
        return None
    return JudgeServer(
        cfg.listen,
        cfg.secret,
        lambda: open_store(config, must_exist=True, wait=DB_WAIT),
        pickup=pickup,
        topics=[topic.name for topic in config.topics],
        where=f"{config.path}: feedback.listen",
    )


class JudgeServer(Endpoint):
    """Serves the judge pages on ``address`` until :meth:`stop`."""

    def __init__(
        self,
        address: tuple[str, int],
        secret: str,
        open_store: Callable[[], Store],
        *,
        pickup: float,
        topics: Collection[str],
        where: str = "[feedback] listen",
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.secret = secret
        self.topics = frozenset(topics)  # the configured ones: a judgement for another is lost
        self.open_store = open_store
        self.pickup = pickup
        self.now = now
        super().__init__(address, _Handler, where)

    def start(self) -> None:
        self.serve()
        log.info("judge pages at %s/judge/", self.base_url)

    def stop(self) -> None:
        self.close()

    def answer(self, method: str, target: str, form: dict[str, list[str]]) -> Reply:
        """The page for one request: ``GET`` shows, ``POST`` records."""
        parsed = parse_path(urlsplit(target).path)
        if parsed is None:
            return Reply(404, page("Not found", ["This is not a judgement link."]))
        hit_id, verdict = parsed
        # the page's button posts the form; a chat button posts to the link itself
        sig = (form.get("sig") or parse_qs(urlsplit(target).query).get("sig") or [""])[0]
        if not valid(self.secret, hit_id, verdict, sig):
            lines = ["This link was not made by this monitor, or its secret has changed since."]
            return Reply(403, page("Not a valid link", lines))
        try:
            with closing(self.open_store()) as store:
                item = store.find_item(hit_id)
                if item is None:
                    lines = [f"{hit_id} is not in the database (deleted since?)."]
                    return Reply(404, page("No such hit", lines))
                topic, title = str(item["topic"]), str(item["title"] or item["link"] or hit_id)
                if topic not in self.topics:  # renamed or removed since: nobody would learn
                    lines = [
                        title,
                        f"Its topic, {topic}, is no longer in the monitor's config: "
                        "nothing was recorded.",
                    ]
                    return Reply(410, page("Topic no longer configured", lines))
                if method != "POST":
                    question = f"Is this {'not ' if verdict == 'irrelevant' else ''}about {topic}?"
                    html = page("Judge this hit", [title, question], form_sig=sig,
                                button=_BUTTON[verdict])  # fmt: skip
                    return Reply(200, html)
                ident = store.add_feedback(topic, item, verdict == "relevant", self.now())
        except BusyError as exc:  # rolled back: nothing half-written
            log.warning(
                "judge page for %s: the database is busy, nothing recorded: %s", hit_id, exc
            )
            return _busy(method)
        except MonitorError as exc:
            log.warning("judge page for %s: %s", hit_id, exc)
            return Reply(503, page("Try again later", ["The database cannot be used just now."]))
        log.info("feedback fb_%d: %s to %s: %s (from a judge link)", ident, verdict, topic, hit_id)
        lines = [
            title,
            f"Recorded: {verdict} to {topic}. A running monitor uses it within "
            f"{int(self.pickup)} s.",
            "Changed your mind? The alert's other link replaces this judgement.",
        ]
        return Reply(200, page("Thank you", lines))


def _busy(method: str) -> Reply:
    """503 for a database another session kept locked past ``DB_WAIT``: nothing was done."""
    lines = (
        ["The database is busy just now: nothing was recorded.", "Try again in a few seconds."]
        if method == "POST"
        else ["The database is busy just now.", "Try again in a few seconds."]
    )
    return Reply(503, page("Database busy", lines), {**_PAGE_HEADERS, "Retry-After": _RETRY_AFTER})


class _Handler(Handler):
    timeout = _TIMEOUT

    def do_GET(self) -> None:
        self._page(self._owner().answer("GET", self.path, {}))

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _FORM_LIMIT:
            self._page(Reply(413, page("Too large", ["A judgement is one small form."])))
            return
        raw = self.rfile.read(length).decode("utf-8", "replace")
        self._page(self._owner().answer("POST", self.path, parse_qs(raw)))

    def _owner(self) -> JudgeServer:
        owner = self.server.owner
        assert isinstance(owner, JudgeServer)
        return owner

    def _page(self, reply: Reply) -> None:
        self.send(reply.status, "text/html; charset=utf-8", reply.html.encode(), reply.headers)

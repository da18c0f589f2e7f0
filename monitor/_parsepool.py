"""Run :func:`~monitor._parse.parse_feed` in worker processes with a hard timeout per parse.

feedparser is pure Python and has super-linear corners (its e-mail regex on a long
``<author>``, deep nesting), so a hostile or broken feed could stall the daemon. Each parse runs
in a worker process; when a parse exceeds its timeout the worker is killed and replaced, and only
that parse fails with :class:`ParseError`. A crashed worker is handled the same way.

A small pool of our own rather than ``ProcessPoolExecutor``: the executor cannot kill one stuck
worker without breaking every other parse in flight. Each worker is a process with a pipe; the
event loop waits on the pipe (``loop.add_reader``), so no thread is tied up while parsing.
Workers are started lazily with the "forkserver" start method (the daemon has threads, so
"fork" is unsafe), "spawn" where forkserver is unavailable. POSIX only (``add_reader``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import Mapping, Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Self

from ._errors import ParseError
from ._models import ParsedFeed
from ._parse import parse_feed
from ._relevance import embed_seeds, tokenise_feed

__all__ = ["ParserPool", "embed_in_child"]

_Job = tuple[bytes, str, dict[str, str], datetime, int | None]


def _context() -> BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has feedparser imported and the embedding model
        # loaded already: a cheap restart.
        context.set_forkserver_preload(
            ["monitor._parse", "monitor._relevance", "monitor._relevance._warm"]
        )
        return context
    return multiprocessing.get_context("spawn")


def _serve(conn: Connection) -> None:
    """Worker main loop: parse jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    while True:
        try:
            body, url, headers, now, max_items = conn.recv()
        except (EOFError, OSError):
            return
        reply: tuple[str, Any]
        try:
            # The entries' tokens too: pure text analysis that would otherwise cost the main
            # process (which scores, groups and stores) as much again.
            parsed = parse_feed(body, url=url, headers=headers, now=now, max_items=max_items)
            reply = ("ok", tokenise_feed(parsed))
        except ParseError as exc:
            reply = ("parse-error", str(exc))
        except Exception as exc:  # a bug in the parser must not kill the worker
            reply = ("error", f"{type(exc).__name__}: {exc}"[:200])
        conn.send(reply)


def _embed(texts: Sequence[str], conn: Connection) -> None:
    try:
        conn.send(embed_seeds(texts))
    finally:
        conn.close()


def embed_in_child(texts: Sequence[str], timeout: float = 120.0) -> list[bytes | None] | None:
    """The seed vectors of ``texts``, computed in a child process started like a parser
    worker (the fork server has the model loaded): the caller's process never loads the
    model. None when the child fails or takes longer than ``timeout`` seconds (the caller
    then embeds in-process)."""
    context = _context()
    parent, child = context.Pipe(duplex=False)
    process: BaseProcess = context.Process(  # type: ignore[attr-defined]
        target=_embed, args=(list(texts), child), name="monitor-seeds", daemon=True
    )
    try:
        process.start()
    except OSError:
        return None
    child.close()
    try:
        if not parent.poll(timeout):
            return None
        out: list[bytes | None] | None = parent.recv()
        return out
    except (EOFError, OSError):
        return None
    finally:
        parent.close()
        if process.is_alive():
            process.kill()
        process.join(timeout=5)


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: BaseContext) -> None:
        parent, child = context.Pipe(duplex=True)
        self.conn: Connection = parent
        self.process: BaseProcess = context.Process(  # type: ignore[attr-defined]
            target=_serve, args=(child,), name="monitor-parser", daemon=True
        )
        self.process.start()
        child.close()

    async def call(self, job: _Job) -> tuple[str, Any]:
        """Send one job and wait for its reply (the caller applies the timeout)."""
        loop = asyncio.get_running_loop()
        # The worker is idle and reading, so this completes; a thread keeps a 15 MiB body
        # from holding up the loop while the pipe drains.
        await asyncio.to_thread(self.conn.send, job)
        readable: asyncio.Future[None] = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, _wake, readable)
        try:
            await readable
        finally:
            loop.remove_reader(fd)
        reply: tuple[str, Any] = self.conn.recv()  # the worker writes a whole pickle at once
        return reply

    def terminate(self) -> None:
        """Kill the process; the pipe stays open for the coroutine that is waiting on it."""
        if self.process.is_alive():
            self.process.kill()

    def kill(self) -> None:
        self.terminate()
        self.process.join(timeout=1)
        self.conn.close()

    def stop(self, timeout: float) -> None:
        """Close the pipe (the worker's loop ends), then kill if it does not exit."""
        self.conn.close()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=1)


class ParserPool:
    """Parses feeds in ``workers`` processes (default: usable cores), ``timeout`` s per parse.

    ``await pool.parse(body, url=..., headers=...)`` returns a :class:`ParsedFeed` or raises
    :class:`ParseError` (unparseable body, timeout, crashed worker). The pool survives both.
    Use ``with ParserPool() as pool:`` or call :meth:`close`.
    """

    def __init__(self, workers: int | None = None, timeout: float = 30) -> None:
        if workers is None:
            workers = _usable_cores()
        if workers < 1 or timeout <= 0:
            raise ValueError("workers must be >= 1 and timeout > 0")
        self.workers = workers
        self.timeout = timeout
        self._context = _context()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._slots = asyncio.Semaphore(workers)  # binds to a loop on first use
        self._closed = False

    async def parse(
        self,
        body: bytes,
        *,
        url: str,
        headers: Mapping[str, str],
        now: datetime,
        max_items: int | None = None,
    ) -> ParsedFeed:
        """Parse in a worker (see :func:`~monitor._parse.parse_feed` for ``now`` and
        ``max_items``: the cap applies in the worker, so a huge feed never crosses the pipe)."""
        if self._closed:
            raise RuntimeError("ParserPool is closed")
        async with self._slots:
            worker = self._idle.pop() if self._idle else await self._start_worker()
            self._busy.add(worker)
            healthy = False
            try:
                async with asyncio.timeout(self.timeout):
                    job = (body, url, dict(headers), now, max_items)
                    status, value = await worker.call(job)
                healthy = True
            except TimeoutError:
                raise ParseError(f"parsing took longer than {self.timeout:g} s") from None
            except (EOFError, OSError):
                worker.kill()  # reaps it, so that the exit code is known
                code = worker.process.exitcode
                raise ParseError(f"parser worker crashed (exit code {code})") from None
            finally:
                self._busy.discard(worker)
                if healthy and not self._closed:
                    self._idle.append(worker)
                else:  # stuck, dead, cancelled mid-parse or pool closed: replace lazily
                    worker.kill()
        # Let a parse waiting for the slot hand its body to the idle worker before the caller
        # spends milliseconds scoring and storing this one: the workers stay busy.
        await asyncio.sleep(0)
        if status == "ok":
            assert isinstance(value, ParsedFeed)
            return value
        if status == "parse-error":
            raise ParseError(value)
        raise ParseError(f"parser failed: {value}")

    async def _start_worker(self) -> _Worker:
        # Starting a process blocks for a moment (forkserver handshake); not on the loop.
        try:
            return await asyncio.to_thread(_Worker, self._context)
        except OSError as exc:  # out of processes or memory: this feed fails, the daemon goes on
            raise ParseError(f"cannot start a parser worker: {exc}"[:200]) from exc

    def close(self, timeout: float = 2) -> None:
        """Stop idle workers (gracefully) and kill busy ones. Idempotent."""
        self._closed = True
        idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop(timeout)
        for worker in list(self._busy):
            worker.terminate()  # its parse() sees EOF, raises ParseError and cleans up

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1

"""A Chrome DevTools Protocol connection over Chromium's debugging pipe.

Chromium started with ``--remote-debugging-pipe`` reads commands on its fd 3 and writes
answers and events on its fd 4, each a JSON message ended by a NUL byte: no port, no
WebSocket, nothing another process on the machine could connect to. The connection
lives on the running asyncio loop (the crawl's reactor loop); commands are awaited,
events go to one handler. A pipe that closes means the browser is gone.

(Why not Playwright: its Python package drives a Node.js process of its own, 50 MB, to
speak this same protocol; the crawl needs a dozen commands of it.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from typing import Any

EventHandler = Callable[[str | None, str, dict[str, Any]], None]


class CdpError(Exception):
    """A command the browser answered with an error."""


class BrowserGoneError(Exception):
    """The browser's pipe closed (it crashed, or was killed), or a command went
    unanswered: it hangs."""


class CdpConnection:
    """Commands and events over the two ends of a browser's debugging pipe: *read_fd*
    (its fd 4) and *write_fd* (its fd 3)."""

    def __init__(self, read_fd: int, write_fd: int, on_event: EventHandler) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd
        self.on_event = on_event
        self.loop = asyncio.get_running_loop()
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.next_id = 0
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.gone: str | None = None
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self.loop.add_reader(read_fd, self._readable)

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """The result of *method* (in target *session*); CdpError when the browser says
        no, BrowserGoneError when it is gone or does not answer within *timeout*."""
        if self.gone is not None:
            raise BrowserGoneError(self.gone)
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future = self.loop.create_future()
        self.pending[self.next_id] = future
        self.outbox += json.dumps(message, separators=(",", ":")).encode() + b"\0"
        self._writable()
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise BrowserGoneError(f"no answer to {method} in {timeout:.0f} s") from None
        finally:
            self.pending.pop(message["id"], None)

    def close(self, reason: str = "connection closed") -> None:
        """Stop reading and writing; every command still waiting fails."""
        if self.gone is not None:
            return
        self.gone = reason
        self.loop.remove_reader(self.read_fd)
        self.loop.remove_writer(self.write_fd)
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(BrowserGoneError(reason))
        self.pending.clear()

    def _writable(self) -> None:
        while self.outbox and self.gone is None:
            try:
                written = os.write(self.write_fd, self.outbox)
            except BlockingIOError:
                self.loop.add_writer(self.write_fd, self._writable)
                return
            except OSError as exc:
                self.close(f"browser pipe closed: {exc}")
                return
            del self.outbox[:written]
        if self.gone is None:
            self.loop.remove_writer(self.write_fd)

    def _readable(self) -> None:
        try:
            data = os.read(self.read_fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError as exc:
            data, reason = b"", f"browser pipe closed: {exc}"
        else:
            reason = "the browser closed its pipe (it crashed or was killed)"
        if not data:
            self.close(reason)
            return
        self.inbox += data
        while (end := self.inbox.find(b"\0")) >= 0:
            raw = bytes(self.inbox[:end])
            del self.inbox[: end + 1]
            self._dispatch(json.loads(raw))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            future = self.pending.get(message["id"])
            if future is None or future.done():
                return
            if "error" in message:
                future.set_exception(CdpError(message["error"].get("message", "error")))
            else:
                future.set_result(message.get("result", {}))
        elif "method" in message:
            self.on_event(message.get("sessionId"), message["method"], message.get("params", {}))

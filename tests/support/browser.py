"""Headless Chromium and the pywb tools, as the replay and report tests drive them.

Chromium is the Debian ``chromium`` package (``make test`` installs it as root, or says
how); ``CHROMIUM`` names another binary. pywb and py-wacz live in ``.venv-replay``
(``make replay-env``), apart from Scrapy's dependencies. Neither is optional for the
suite: a missing one fails the test that needs it, with the command that installs it.

The browser is held to loopback: every host name but 127.0.0.1 resolves to nothing, an
address typed in goes to a dead proxy, and its background services (updates, sync,
safe browsing) are off.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from tests.support.paths import ROOT

REPLAY_BIN = ROOT / ".venv-replay" / "bin"
# Screenshots and other files a reader of a CI run may want to look at.
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts"))

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    # held to loopback: no name resolves but 127.0.0.1, and any other address goes to a
    # proxy that is not there (Chromium never proxies loopback)
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
    "--virtual-time-budget=5000",  # let scripts (pywb's wombat) run before the dump
]


def chromium() -> str:
    names = (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser")
    found = next((path for name in names if name and (path := shutil.which(name))), None)
    if found is None:
        pytest.fail(
            "headless Chromium is needed: `make test` installs it as root, or run "
            "`sudo apt-get install chromium` (CHROMIUM names another binary)"
        )
    return found


def replay_tool(name: str) -> Path:
    """An executable of the replay virtualenv (wayback, wb-manager, wacz)."""
    path = REPLAY_BIN / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: `make replay-env` installs pywb and py-wacz there")
    return path


@dataclass
class Rendered:
    dom: str  # the DOM once loaded, serialised
    log: str  # Chromium's stderr (console messages with --enable-logging)


def render(
    url: str, screenshot: Path | None = None, size: str = "1200,2000", hosts: tuple[str, ...] = ()
) -> Rendered:
    """Load *url* in headless Chromium: its DOM, and a PNG of it to *screenshot*. *hosts*:
    loopback names it may resolve besides 127.0.0.1 (``localhost``, another origin of a
    loopback site)."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        flags = list(CHROMIUM_FLAGS)
        if hosts:
            allowed = (f"EXCLUDE {host}" for host in ("127.0.0.1", *hosts))
            rules = " , ".join(["MAP * ~NOTFOUND", *allowed])
            flags = [f"--host-resolver-rules={rules}" if f.startswith("--host-resolver-rules")
                     else f for f in flags]  # fmt: skip
        base = [chromium(), *flags, f"--user-data-dir={profile}"]
        proc = subprocess.run(
            [*base, "--enable-logging=stderr", "--v=0", "--dump-dom", url],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            shot = subprocess.run(
                [*base, f"--screenshot={screenshot}", f"--window-size={size}", url],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert shot.returncode == 0 and screenshot.stat().st_size > 1000, shot.stderr[-3000:]
    return Rendered(proc.stdout, proc.stderr)


def console_messages(log: str) -> list[str]:
    """What the page wrote to its console (or threw), from Chromium's stderr log."""
    # INFO:CONSOLE(12)] in older builds, INFO:CONSOLE:12] in newer ones
    return [line for line in log.splitlines() if re.search(r":CONSOLE[(:]\d+", line)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    log: IO[bytes]

    def output(self) -> str:
        """What it has printed so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@contextmanager
def serving(cmd: list[str], port: int, cwd: Path | None = None) -> Iterator[Server]:
    """Run a server until it answers on *port* (loopback); stop it at the end."""
    with tempfile.TemporaryFile() as log:
        server = Server(subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT), log)
        try:
            _wait_for(server, port, cmd[0])
            yield server
        finally:
            server.proc.terminate()
            try:
                server.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()


def _wait_for(server: Server, port: int, name: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return
        except urllib.error.HTTPError:  # an HTTP error is an answer
            return
        except OSError:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{name} did not start on port {port}:\n{server.output()[-3000:]}")
            time.sleep(0.2)

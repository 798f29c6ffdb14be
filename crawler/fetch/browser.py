"""Pages loaded in headless Chromium whose every request the crawler answers
(``CAPTURE=browser``).

The browser has no network of its own: it runs with a proxy that is not there and a
resolver that resolves nothing, and every request it makes is paused (CDP ``Fetch``
domain, in the page and in every frame and worker it starts) and answered by a *fetch*
function the crawl gives (Scrapy's downloader: the address guard, robots.txt,
politeness, retries and WARC capture see it), or refused. The page's own document is
answered with the response the crawl already has. Once loaded (or at the load
timeout), the DOM is serialised and the page screenshotted.

:class:`BrowserPool` runs one Chromium (Debian's ``chromium``, found on the PATH or
named; never downloaded) with at most *pages* pages at once, each in a browser context
of its own. A browser that crashes or stops answering is killed and started again and
the page tried once more; then the page fails with :class:`BrowserCrashedError`. The
browser dies with the crawl, even one killed with SIGKILL (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.fetch.cdp import BrowserGoneError, CdpConnection, CdpError

# The DOM as the page has it once loaded, its doctype included.
_DOM = (
    "(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + '\\n' : '')"
    " + document.documentElement.outerHTML"
)
# Headers of an answer that describe the bytes on the wire, not the (decoded) body given.
_WIRE_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "connection"}
MAX_SCREENSHOT_HEIGHT = 16384  # CSS pixels: a longer page is cut there


class BrowserError(Exception):
    """The browser could not capture a page."""


class BrowserNotFoundError(BrowserError):
    """No Chromium on the PATH, or not where the setting says."""


class BrowserCrashedError(BrowserError):
    """The browser (or the page's renderer) crashed or stopped answering, twice."""


@dataclass(frozen=True, slots=True)
class BrowserOptions:
    """How pages are loaded: a page-load timeout (seconds; what has loaded by then is
    captured), a cap on requests per page, the viewport, a quiet time after the load
    event (no request pending) that ends the wait, and a CDP command timeout past
    which the browser counts as hung."""

    executable: str
    load_timeout: float = 30.0
    max_requests: int = 500
    width: int = 1280
    height: int = 1024
    settle: float = 0.5
    command_timeout: float = 30.0
    screenshot: bool = True


@dataclass(frozen=True, slots=True)
class PausedRequest:
    """A request the browser made, paused for the crawl to answer."""

    url: str
    method: str
    headers: dict[str, str]
    body: bytes | None
    resource_type: str  # Document, Stylesheet, Image, Script, XHR, Fetch, Font, ...


@dataclass(frozen=True, slots=True)
class Answer:
    """A response for the browser: status, headers (decoded body: no Content-Encoding),
    body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


# What a fetch gives: an Answer, or why there is none ("refused": the address guard or
# robots.txt said no; anything else: it failed).
REFUSED = "refused"
Fetch = Callable[[PausedRequest], Awaitable[Answer | str]]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A loaded page: its DOM, its screenshot (PNG), and its requests (the page's own
    document not counted): answered, failed, refused, and over the cap."""

    dom: str
    screenshot: bytes | None
    fetched: int = 0
    failed: int = 0
    refused: int = 0
    over_cap: int = 0
    timed_out: bool = False  # the load event had not come by the load timeout


def find_chromium(configured: str = "") -> str:
    """The Chromium to run: *configured* (a path or a name on the PATH), else
    ``chromium`` or ``chromium-browser`` on the PATH."""
    names = [configured] if configured else ["chromium", "chromium-browser"]
    for name in names:
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return name
        if found := shutil.which(name):
            return found
    raise BrowserNotFoundError(
        f"no Chromium found ({configured or 'chromium on the PATH'}): install Debian's "
        "`chromium` package (make browser), or set CAPTURE_BROWSER to its path"
    )


def chromium_flags(profile: str) -> list[str]:
    """How Chromium is started: headless, quiet, with no network of its own, no
    pop-ups, one renderer per page (frames in their page's: their requests are paused
    with it), the debugging pipe."""
    flags = [
        "--headless", "--remote-debugging-pipe", f"--user-data-dir={profile}",
        "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--mute-audio",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--disable-breakpad",
        "--disable-dev-shm-usage", "--hide-scrollbars", "--disable-quic",
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows", "--block-new-web-contents",
        "--disable-site-isolation-trials",
        "--disable-features=Translate,OptimizationHints,MediaRouter,IsolateOrigins,"
        "site-per-process,InterestFeedContentSuggestions,AutofillServerCommunication",
        # No route out: every name resolves to nothing and every address (loopback
        # too) goes to a proxy that is not there. Paused requests never get that far.
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
    ]  # fmt: skip
    if os.geteuid() == 0:  # Chromium's sandbox cannot start as root
        flags.append("--no-sandbox")
    return flags


def _die_with_parent() -> None:
    """In the browser's process before it starts: killed when the crawl dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class _Page:
    """One page being loaded: its session, and what its requests came to."""

    url: str
    document: Answer
    fetch: Fetch
    options: BrowserOptions
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    crashed: asyncio.Event = field(default_factory=asyncio.Event)
    document_answered: bool = False
    requests: int = 0
    fetched: int = 0
    failed: int = 0
    refused: int = 0
    over_cap: int = 0
    in_flight: int = 0
    closing: bool = False


class Browser:
    """One Chromium process and its CDP connection."""

    def __init__(self, options: BrowserOptions) -> None:
        self.options = options
        self.profile = tempfile.mkdtemp(prefix="newsarchiver-chromium-")
        self.process: subprocess.Popen[bytes] | None = None
        self.connection: CdpConnection | None = None
        self.pages: dict[str, _Page] = {}  # session (the page's, its frames' and workers')
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def alive(self) -> bool:
        return (
            self.process is not None and self.process.poll() is None
            and self.connection is not None and self.connection.gone is None
        )  # fmt: skip

    async def start(self) -> None:
        to_browser, from_browser = os.pipe(), os.pipe()  # (read, write) each

        def child() -> None:
            commands, answers = os.dup(to_browser[0]), os.dup(from_browser[1])
            os.dup2(commands, 3)
            os.dup2(answers, 4)
            _die_with_parent()

        self.process = subprocess.Popen(
            [self.options.executable, *chromium_flags(self.profile), "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=child, start_new_session=True,
        )  # fmt: skip
        os.close(to_browser[0])
        os.close(from_browser[1])
        self.connection = CdpConnection(from_browser[0], to_browser[1], self._event)
        await self.send("Browser.getVersion")

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        assert self.connection is not None
        return await self.connection.send(method, params, session, self.options.command_timeout)

    def kill(self) -> None:
        """The browser and every process it started, at once; its profile removed."""
        if self.connection is not None:
            self.connection.close("the browser was stopped")
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        for task in self.tasks:
            task.cancel()
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- events -----------------------------------------------------------------------
    def _event(self, session: str | None, method: str, params: dict[str, Any]) -> None:
        page = self.pages.get(session or "")
        if page is None:
            return
        if method == "Fetch.requestPaused":
            self._spawn(self._answer(page, session, params))
        elif method == "Page.loadEventFired":
            page.loaded.set()
        elif method == "Inspector.targetCrashed":
            page.crashed.set()
        elif method == "Target.attachedToTarget":  # a frame or worker of the page
            self.pages[params["sessionId"]] = page
            self._spawn(self._child(params["sessionId"], params.get("targetInfo", {})))
        elif method == "Page.javascriptDialogOpening":  # an alert must not hold the page
            self._spawn(self._quietly("Page.handleJavaScriptDialog", {"accept": False}, session))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _quietly(self, method: str, params: dict[str, Any], session: str | None) -> None:
        with contextlib.suppress(CdpError, BrowserGoneError):
            await self.send(method, params, session)

    async def _child(self, session: str, info: dict[str, Any]) -> None:
        if info.get("type") == "service_worker":  # service workers off: it never starts
            await self._quietly("Target.closeTarget", {"targetId": info.get("targetId")}, None)
            return
        await self._quietly("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session)
        await self._quietly("Runtime.runIfWaitingForDebugger", {}, session)

    async def _answer(self, page: _Page, session: str | None, params: dict[str, Any]) -> None:
        request_id, request = params["requestId"], params["request"]
        url = request["url"]
        answer: Answer | str
        if page.closing:
            answer = "aborted"
        elif (not page.document_answered and params.get("resourceType") == "Document"
              and url.partition("#")[0] == page.url.partition("#")[0]):  # fmt: skip
            page.document_answered = True  # the crawl has it already
            answer = page.document
        else:
            page.requests += 1
            if page.requests > page.options.max_requests:
                page.over_cap += 1
                answer = REFUSED
            elif not url.startswith(("http://", "https://")):
                page.refused += 1
                answer = REFUSED
            else:
                answer = await self._fetch(page, request, params.get("resourceType", "Other"))
        if isinstance(answer, str):
            reason = "BlockedByClient" if answer == REFUSED else "Failed"
            await self._quietly("Fetch.failRequest", {"requestId": request_id,
                                                      "errorReason": reason}, session)  # fmt: skip
            return
        headers = [{"name": k, "value": v} for k, v in answer.headers
                   if k.lower() not in _WIRE_HEADERS]  # fmt: skip
        await self._quietly("Fetch.fulfillRequest", {
            "requestId": request_id, "responseCode": answer.status, "responseHeaders": headers,
            "body": base64.b64encode(answer.body).decode("ascii"),
        }, session)  # fmt: skip

    async def _fetch(self, page: _Page, request: dict[str, Any], kind: str) -> Answer | str:
        body = None
        if entries := request.get("postDataEntries"):
            body = b"".join(base64.b64decode(e.get("bytes", "")) for e in entries)
        elif "postData" in request:
            body = request["postData"].encode("utf-8")
        paused = PausedRequest(request["url"], request.get("method", "GET"),
                               dict(request.get("headers", {})), body, kind)  # fmt: skip
        page.in_flight += 1
        try:
            answer = await page.fetch(paused)
        except Exception:  # a bug below costs one request, not the page
            answer = "failed"
        finally:
            page.in_flight -= 1
        if isinstance(answer, Answer):
            page.fetched += 1
        elif answer == REFUSED:
            page.refused += 1
        else:
            page.failed += 1
        return answer

    # -- a page -----------------------------------------------------------------------
    async def capture(self, url: str, document: Answer, fetch: Fetch) -> Rendered:
        """Load *url* (answered with *document*), every other request through *fetch*."""
        context = (await self.send("Target.createBrowserContext", {"disposeOnDetach": True}))[
            "browserContextId"
        ]
        page = _Page(url, document, fetch, self.options)
        sessions: list[str] = []
        try:
            in_context = {"browserContextId": context}
            await self.send("Browser.setDownloadBehavior", {"behavior": "deny", **in_context})
            target = await self.send("Target.createTarget", {"url": "about:blank", **in_context})
            attach = {"targetId": target["targetId"], "flatten": True}
            session = (await self.send("Target.attachToTarget", attach))["sessionId"]
            self.pages[session] = page
            sessions.append(session)
            return await self._load(page, session)
        finally:
            page.closing = True
            for key in [k for k, v in self.pages.items() if v is page]:
                del self.pages[key]
            if self.alive:
                await self._quietly("Target.disposeBrowserContext",
                                    {"browserContextId": context}, None)  # fmt: skip

    async def _load(self, page: _Page, session: str) -> Rendered:
        options = self.options
        for method, params in (
            ("Page.enable", {}),
            ("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}),
            ("Network.enable", {}),
            ("Network.setBypassServiceWorker", {"bypass": True}),
            ("Target.setAutoAttach",
             {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True}),
            ("Emulation.setDeviceMetricsOverride",
             {"width": options.width, "height": options.height, "deviceScaleFactor": 1,
              "mobile": False}),
        ):  # fmt: skip
            await self.send(method, params, session)
        await self.send("Page.navigate", {"url": page.url}, session)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + options.load_timeout
        timed_out = not await self._until(page, page.loaded, deadline)
        # then quiet: nothing pending for `settle` seconds (scripts that load more)
        quiet_since = loop.time()
        while not timed_out and loop.time() < deadline:
            if page.crashed.is_set():
                raise BrowserGoneError("the page's renderer crashed")
            if page.in_flight:
                quiet_since = loop.time()
            elif loop.time() - quiet_since >= options.settle:
                break
            await asyncio.sleep(0.05)
        if page.crashed.is_set():
            raise BrowserGoneError("the page's renderer crashed")
        result = await self.send("Runtime.evaluate",
                                 {"expression": _DOM, "returnByValue": True}, session)  # fmt: skip
        dom = str(result.get("result", {}).get("value") or "")
        shot = await self._screenshot(session) if options.screenshot else None
        return Rendered(dom, shot, page.fetched, page.failed, page.refused, page.over_cap,
                        timed_out)  # fmt: skip

    async def _until(self, page: _Page, event: asyncio.Event, deadline: float) -> bool:
        """Wait for *event* until *deadline*: True if it came (a crash raises)."""
        loop = asyncio.get_running_loop()
        while not event.is_set():
            if page.crashed.is_set():
                raise BrowserGoneError("the page's renderer crashed")
            if self.connection is not None and self.connection.gone:
                raise BrowserGoneError(self.connection.gone)
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _screenshot(self, session: str) -> bytes:
        metrics = await self.send("Page.getLayoutMetrics", {}, session)
        size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
        width = max(int(size.get("width", self.options.width)), 1)
        height = min(max(int(size.get("height", self.options.height)), 1), MAX_SCREENSHOT_HEIGHT)
        shot = await self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        }, session)  # fmt: skip
        return base64.b64decode(shot["data"])


class BrowserPool:
    """One browser, *pages* pages at a time; restarted when it crashes or hangs."""

    def __init__(self, options: BrowserOptions, pages: int) -> None:
        if pages < 1:
            raise ValueError(f"browser pages at once must be >= 1, got {pages}")
        self.options = options
        self.pages = pages
        self.browser: Browser | None = None
        self.restarts = 0
        self._slots: asyncio.Semaphore | None = None
        self._starting: asyncio.Lock | None = None

    async def capture(self, url: str, document: Answer, fetch: Fetch) -> Rendered:
        """Load *url* in the browser; a crash or hang is retried once in a fresh one."""
        if self._slots is None:
            self._slots, self._starting = asyncio.Semaphore(self.pages), asyncio.Lock()
        async with self._slots:
            problem = ""
            for _attempt in range(2):
                try:
                    browser = await self._running()
                except BrowserCrashedError as exc:  # (a start that failed is a try too)
                    problem = str(exc)
                    continue
                try:
                    return await browser.capture(url, document, fetch)
                except (BrowserGoneError, CdpError) as exc:
                    problem = str(exc)
                    self._discard(browser)
            raise BrowserCrashedError(f"browser failed twice: {problem}")

    async def _running(self) -> Browser:
        assert self._starting is not None
        async with self._starting:
            if self.browser is None or not self.browser.alive:
                if self.browser is not None:
                    self._discard(self.browser)
                browser = Browser(self.options)
                try:
                    await browser.start()
                except (BrowserGoneError, CdpError, OSError) as exc:
                    browser.kill()
                    self.restarts += 1
                    raise BrowserCrashedError(f"the browser did not start: {exc}") from exc
                self.browser = browser
            return self.browser

    def _discard(self, browser: Browser) -> None:
        """Kill *browser*; the next page starts another."""
        if self.browser is browser:
            self.browser = None
            self.restarts += 1
        browser.kill()

    @property
    def pid(self) -> int | None:
        browser = self.browser
        return browser.process.pid if browser and browser.process else None

    def close(self) -> None:
        if self.browser is not None:
            self.browser.kill()
            self.browser = None


class AnswerCache:
    """What this crawl already captured, by URL, to answer a browser's request for it
    again without fetching it (least recently used dropped past *max_bytes*)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.answers: OrderedDict[str, Answer] = OrderedDict()

    def get(self, url: str) -> Answer | None:
        answer = self.answers.get(url)
        if answer is not None:
            self.answers.move_to_end(url)
        return answer

    def put(self, url: str, answer: Answer) -> None:
        if len(answer.body) > self.max_bytes:
            return
        if (old := self.answers.pop(url, None)) is not None:
            self.size -= len(old.body)
        self.answers[url] = answer
        self.size += len(answer.body)
        while self.size > self.max_bytes:
            _, dropped = self.answers.popitem(last=False)
            self.size -= len(dropped.body)

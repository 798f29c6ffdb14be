"""How much of a page is captured (``CAPTURE``, or a site's ``capture`` key).

``html``: the page alone (its HTTP exchanges). ``requisites``: the page and what it
needs to look as it did (stylesheets, images, fonts, scripts, frames), fetched by the
crawler. ``browser``: the page loaded in headless Chromium, every request it makes
fetched by the crawler, the article read from the rendered DOM.
"""

from __future__ import annotations

HTML, REQUISITES, BROWSER = "html", "requisites", "browser"
MODES = (HTML, REQUISITES, BROWSER)


class CaptureModeError(ValueError):
    """A capture mode that is none of :data:`MODES`."""


def capture_mode(value: object) -> str:
    """*value* as a capture mode (empty: ``html``); CaptureModeError if it is none."""
    mode = str(value or HTML).strip().lower()
    if mode not in MODES:
        raise CaptureModeError(f"capture mode must be one of {', '.join(MODES)}, got {value!r}")
    return mode

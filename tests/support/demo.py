"""``make demo``: serve the bundled news site on loopback and crawl it into ``archive/``.

Works offline. Prints where everything went and what each URL became.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from crawler.archive.directory import Archive
from tests.support.paths import ROOT
from tests.support.siteserver import EXPECTED, SiteServer
from tests.support.waybackserver import FakeWayback, article


def main() -> int:
    archive = Path(os.environ.get("ARCHIVE_DIR", ROOT / "archive"))
    archive.mkdir(parents=True, exist_ok=True)
    with SiteServer() as site, FakeWayback() as wayback:
        # The demo's dead link (/missing.html, a 404) has a capture in a stand-in for the
        # Internet Archive, so the demo shows a page recovered with its provenance.
        lost = "The council's archive of harbor photographs moved to the city library, " * 3
        wayback.add(site.url("/missing.html"), "20230301120000", article("Photo Archive", lost))
        url_file = archive / "demo-urls.txt"
        url_file.write_text("".join(site.url(path) + "\n" for path, _ in EXPECTED))
        print(f"Demo site at {site.base_url}/ ; {len(EXPECTED)} URLs in {url_file}")
        cmd = [
            sys.executable, "-m", "scrapy", "crawl", "urls",
            "-a", f"urls={url_file}",
            "-s", f"ARCHIVE_DIR={archive}",
            # the demo site is on loopback, which a crawl refuses by default
            "-s", "ALLOW_PRIVATE_ADDRESSES=1",
            "-s", f"WAYBACK_ENDPOINT={wayback.endpoint}",
            "-s", "WAYBACK_DELAY=0.1",
            "-s", "LOG_LEVEL=INFO",
        ]  # fmt: skip
        code = subprocess.run(cmd, cwd=ROOT, check=False).returncode
    lines = list(Archive(archive).manifest_records())[-len(EXPECTED) :]
    print(f"\nExit status {code}. Manifest: {archive / 'manifest.jsonl'}")
    for line in sorted(lines, key=lambda x: x["seq"]):
        detail = line["text_file"] or line["error"] or ""
        if line.get("memento_url"):
            detail += f"  (from the archive, {line['memento_datetime']}; live: {line['error']})"
        print(f"  {line['seq']} {line['outcome']:<9} {line['url']}  {detail}")
    print("Outcomes:", dict(Counter(line["outcome"] for line in lines)))
    print(f"Text dumps: {archive / 'text'}  WARC files: {archive / 'warc'}")
    print(f"Crawl report: {archive / 'reports' / 'index.html'} (open it in a browser); "
          "`make replay` browses the archive in pywb")  # fmt: skip
    return code


if __name__ == "__main__":
    sys.exit(main())

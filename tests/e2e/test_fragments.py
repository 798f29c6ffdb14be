"""URLs with a ``#fragment``: fetched without it (a fragment never goes on the wire), and
archived without it too: ``WARC-Target-URI`` is the URL as requested, the index lists it so,
the manifest keeps what the user gave, and ``scrapy verify`` passes. An archive written
before (the fragment in ``WARC-Target-URI``) passes with a note."""

from __future__ import annotations

import subprocess
import sys

from crawler.archive.directory import Archive
from crawler.tools.verify import verify
from crawler.warc.reader import iter_records
from tests.support.crawl import ROOT, run_crawl, write_url_list
from tests.support.siteserver import SiteServer

ARTICLE = "/news/2024/03/harbor-bridge-reopens.html"


def test_fragments_stay_out_of_the_warc_and_verify_passes(site: SiteServer, tmp_path):
    urls = [site.url(f"{ARTICLE}#comment-949890"), site.url("/world/elections.html?id=42#top"),
            site.url("/old/ferry-strike#x")]  # a redirect too  # fmt: skip
    result = run_crawl(tmp_path / "a", args={"urls": str(write_url_list(tmp_path / "u.txt", urls))})
    assert result.returncode == 0, result.log[-3000:]
    assert sorted(line["url"] for line in result.manifest) == sorted(urls)  # as given
    assert {line["outcome"] for line in result.manifest} == {"ok"}
    targets = [record.rec_headers.get_header("WARC-Target-URI")
               for path in result.warc_files() for record in iter_records(path)
               if record.rec_type in ("request", "response")]  # fmt: skip
    assert targets and not [t for t in targets if "#" in t]
    assert site.url(ARTICLE) in targets
    index = (result.archive / "indexes" / "index.cdxj").read_text()
    assert "#" not in index and f'"url": "{site.url(ARTICLE)}"' in index
    report = verify(Archive(result.archive))
    assert report.ok and not report.notes, [str(p) for p in report.problems]
    cli = subprocess.run([sys.executable, "-m", "scrapy", "verify", str(result.archive)],
                         cwd=ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    assert cli.returncode == 0, cli.stdout + cli.stderr


def test_an_archive_written_with_fragments_passes_with_a_note(site: SiteServer, tmp_path):
    """What the crawler wrote before: the response record's WARC-Target-URI with the
    fragment of the URL as given (the line's final_url, fetched, has none). Rewritten here
    in the last record a line points at (nothing a line points at moves), the index
    rebuilt from the records."""
    import gzip
    import zlib

    urls = [site.url("/world/elections.html"), site.url(f"{ARTICLE}#comment-1")]
    result = run_crawl(tmp_path / "a", args={"urls": str(write_url_list(tmp_path / "u.txt", urls))},
                       settings={"CONCURRENT_REQUESTS": "1"})  # fmt: skip
    assert result.returncode == 0, result.log[-3000:]
    archive = Archive(result.archive)
    line = next(x for x in archive.manifest_records() if x["url"].endswith("#comment-1"))
    assert line["final_url"] == site.url(ARTICLE)  # the URL fetched: no fragment
    [path] = archive.warc_files()
    data = path.read_bytes()
    start = line["warc_offset"]
    rest = zlib.decompressobj(zlib.MAX_WBITS | 16)
    rest.decompress(data[start:])
    end = len(data) - len(rest.unused_data)
    record = gzip.decompress(data[start:end])
    old = f"WARC-Target-URI: {site.url(ARTICLE)}\r\n".encode()
    assert old in record
    record = record.replace(old, f"WARC-Target-URI: {line['url']}\r\n".encode(), 1)
    path.write_bytes(data[:start] + gzip.compress(record) + data[end:])
    with archive:
        archive.rebuild_index()
    report = verify(archive)
    assert report.ok, [str(p) for p in report.problems]
    [(note, count)] = report.notes.items()
    assert "fragment" in note and count == 1

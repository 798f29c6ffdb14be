"""Distributed jobs end to end: real `scrapy enqueue`, worker `scrapy crawl`s, SIGKILL,
a Redis restart, `scrapy merge` and `scrapy verify`, against a real redis-server and the
loopback site."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from crawler.distributed.job import host_names
from tests.support.crawl import ROOT, TEST_SETTINGS, run_crawl, write_url_list
from tests.support.paths import SEEDS
from tests.support.rates import too_fast
from tests.support.redisserver import RedisServer
from tests.support.siteserver import SiteServer
from tests.support.wire import COPY, OTHER, STORY

PACED = 120  # /paced/ pages: ~20 ms each on the server, enough to kill a worker mid-job


def scrapy(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=ROOT, timeout=timeout,
                          capture_output=True, text=True, check=False)  # fmt: skip


def start_worker(name: str | None, archive: Path, redis: RedisServer, job: str, **settings: str):
    """A worker named *name* (None: no REDIS_WORKER, it takes a free name of this host)."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", "urls"]
    merged = {**TEST_SETTINGS, "ARCHIVE_DIR": str(archive), "JOB": job,
              "REDIS_URL": redis.url, "REDIS_LEASE": "2", "LOG_LEVEL": "INFO",
              **settings}  # fmt: skip
    if name is not None:
        merged["REDIS_WORKER"] = name
    for key, value in merged.items():
        cmd += ["-s", f"{key}={value}"]
    with (archive.parent / f"{name or 'host'}-{time.monotonic_ns()}.log").open("w") as log:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def lines_of(archive: Path, worker: str) -> int:
    path = archive / "workers" / worker / "manifest.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def wait_until(condition, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def finish(*workers: subprocess.Popen, timeout: float = 180) -> list[int]:
    """Each worker's exit status: the job ends by itself, every worker exits."""
    return [w.wait(timeout) for w in workers]


def merged_manifest(archive: Path) -> list[dict]:
    return [json.loads(line) for line in (archive / "manifest.jsonl").read_text().splitlines()]


def warcio_check(archive: Path) -> None:
    warcs = sorted((archive / "warc").glob("*.warc.gz"))
    assert warcs
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", *map(str, warcs)],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_worker_killed_mid_job_loses_nothing(site: SiteServer, redis_server, tmp_path):
    """Two workers; one SIGKILLed mid-crawl and restarted. After the merge every input entry
    has exactly one manifest line, duplicates are bounded and counted, verify passes."""
    archive = tmp_path / "archive"
    paths = [f"/paced/kill-{i}.html" for i in range(PACED)]
    extra = ["/gzip/mars-rover.html", "/old/ferry-strike", "/missing.html"]
    urls = [site.url(p) for p in paths + extra] + ["not a url", site.url(paths[0])]
    url_list = write_url_list(tmp_path / "list.txt", urls)
    enqueued = scrapy("enqueue", "kill", str(url_list), "--redis", redis_server.url)
    assert enqueued.returncode == 0, enqueued.stderr
    assert f"{len(urls)} of {len(urls)} entries queued" in enqueued.stdout
    again = scrapy("enqueue", "kill", str(url_list), "--redis", redis_server.url)
    assert f"0 of {len(urls)} entries queued" in again.stdout  # idempotent

    slow = {"CONCURRENT_REQUESTS": "4", "REDIS_BATCH": "4"}
    w1 = start_worker("w1", archive, redis_server, "kill", **slow)
    w2 = start_worker("w2", archive, redis_server, "kill", **slow)
    wait_until(lambda: lines_of(archive, "w1") >= 15, what="w1's first lines")
    os.kill(w1.pid, signal.SIGKILL)  # mid-crawl: it holds entries, some fetched, unacked
    assert w1.wait(10) == -signal.SIGKILL
    w1 = start_worker("w1", archive, redis_server, "kill", **slow)  # the same worker, back
    assert finish(w1, w2) == [0, 0]

    status = scrapy("job", "status", "kill", "--redis", redis_server.url, "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["finished"] and report["queued"] == 0 and report["dead_lettered"] == 0
    assert report["done"] == len(urls)

    merged = scrapy("merge", str(archive), "--job", "kill", "--redis", redis_server.url)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    lines = merged_manifest(archive)
    seqs = Counter(line["seq"] for line in lines)
    assert sorted(seqs) == [f"{i:03d}" for i in range(len(urls))]  # every entry ...
    assert set(seqs.values()) == {1}  # ... exactly once
    outcomes = {line["url"]: line["outcome"] for line in lines if line["outcome"] != "duplicate"}
    assert outcomes[site.url("/missing.html")] == "error"
    assert outcomes["not a url"] == "error"
    assert all(outcomes[site.url(p)] == "ok" for p in paths + extra[:2])
    [repeat] = [line for line in lines if line["outcome"] == "duplicate"]
    assert repeat["seq"] == f"{len(urls) - 1:03d}"  # the list's repeat of its first URL
    # Duplicates: only what the killed worker held (fetched, line maybe written, unacked).
    duplicates = int(merged.stdout.split(";")[1].split()[0])
    assert duplicates <= 2 * int(slow["CONCURRENT_REQUESTS"]) + int(slow["REDIS_BATCH"])
    requested = (r.path for r in site.log.requests)
    fetched = Counter(p for p in requested if p.startswith("/paced/kill-"))
    assert set(fetched) == set(paths)  # every page fetched ...
    assert sum(fetched.values()) - len(paths) <= 2 * int(slow["CONCURRENT_REQUESTS"]) + 4
    # The kill hit work in progress: what w1 held was taken over, not lost.
    records = [json.loads(p.read_text()) for p in archive.glob("workers/*/runs/*.json")]
    assert len(records) == 2 and all(r["status"] == "complete" for r in records)
    assert sum(r["counters"].get("job/taken_over", 0) for r in records) >= 1
    verify = scrapy("verify", str(archive))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    warcio_check(archive)


CHAOS = 200  # /paced/ pages over two host names of the loopback site
RATE, BURST = 8.0, 2.0  # per host, across the workers


def test_workers_killed_at_random_lose_nothing_and_keep_the_host_rate(
    site: SiteServer, redis_server, tmp_path
):
    """Three workers over two hosts, SIGKILLed at random moments (a fixed seed) and
    restarted: after the merge every URL has exactly one line, verify passes, no host got
    more than its rate across the workers, and robots.txt was fetched once per worker start
    at most (the others read the copy the job shares)."""
    rng = random.Random(20261202)
    archive = tmp_path / "archive"
    bases = [site.base_url, site.base_url.replace("127.0.0.1", "localhost")]
    urls = [f"{bases[i % 2]}/paced/chaos-{i}.html" for i in range(CHAOS)]
    url_list = write_url_list(tmp_path / "list.txt", urls)
    assert scrapy("enqueue", "chaos", str(url_list), "--redis", redis_server.url).returncode == 0
    settings = {"REDIS_HOST_RATE": str(RATE), "REDIS_HOST_BURST": str(BURST),
                "CONCURRENT_REQUESTS": "8", "REDIS_BATCH": "4",
                "REDIS_MAX_DELIVERIES": "10"}  # four kills never dead-letter a page  # fmt: skip
    names = ["w1", "w2", "w3"]
    began = time.monotonic()  # the site is the session's: earlier tests' requests are older
    workers = {n: start_worker(n, archive, redis_server, "chaos", **settings) for n in names}
    starts, kills = len(names), []
    total = lambda: sum(lines_of(archive, n) for n in names)  # noqa: E731
    wait_until(lambda: total() >= 10, what="the first lines")  # every worker is crawling
    while len(kills) < 4:
        time.sleep(rng.uniform(1.0, 3.0))
        done = total()
        if done >= CHAOS * 0.9:
            break
        victim = rng.choice(names)
        os.kill(workers[victim].pid, signal.SIGKILL)
        assert workers[victim].wait(10) == -signal.SIGKILL
        kills.append((victim, done))
        workers[victim] = start_worker(victim, archive, redis_server, "chaos", **settings)
        starts += 1
    assert len(kills) >= 3, f"the job ended before the kills: {kills}"  # they hit live work
    assert finish(*workers.values()) == [0, 0, 0]

    merged = scrapy("merge", str(archive), "--job", "chaos", "--redis", redis_server.url)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    lines = merged_manifest(archive)
    assert sorted(line["seq"] for line in lines) == [f"{i:03d}" for i in range(CHAOS)]
    assert {line["url"] for line in lines} == set(urls)
    assert all(line["outcome"] == "ok" for line in lines), Counter(x["outcome"] for x in lines)
    verify = scrapy("verify", str(archive))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    warcio_check(archive)

    with site.log.lock:
        seen = [r for r in site.log.requests if r.at >= began]
    for host in ("127.0.0.1", "localhost"):
        arrivals = [r.at for r in seen if r.host == host]
        assert len(arrivals) >= CHAOS // 2
        assert too_fast(arrivals, RATE, BURST) == [], host
        robots = [r for r in seen if r.host == host and r.path == "/robots.txt"]
        assert 1 <= len(robots) <= starts
    records = [json.loads(p.read_text()) for p in archive.glob("workers/*/runs/*.json")]
    assert sum(r["counters"].get("robotstxt/shared", 0) for r in records) >= 1
    assert sum(r["counters"].get("job/taken_over", 0) for r in records) >= 1  # kills hit work
    assert sum(r["counters"].get("job/host_waits", 0) for r in records) >= 1


def test_a_page_slower_than_the_lease_is_fetched_once(site: SiteServer, redis_server, tmp_path):
    archive = tmp_path / "archive"
    slow_path = "/slow/3/lease.html"
    urls = [site.url(slow_path)] + [site.url(f"/paced/lease-{i}.html") for i in range(10)]
    scrapy("enqueue", "lease", str(write_url_list(tmp_path / "l.txt", urls)),
           "--redis", redis_server.url)  # fmt: skip
    settings = {"REDIS_LEASE": "1"}  # renewed every 1/3 s while the page takes 3 s
    workers = [start_worker(n, archive, redis_server, "lease", **settings) for n in ("a", "b")]
    assert finish(*workers) == [0, 0]
    assert site.log.hits.get(slow_path) == 1
    merged = scrapy("merge", str(archive), "--job", "lease", "--redis", redis_server.url)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert " 0 lines of entries done twice" in merged.stdout
    assert len(merged_manifest(archive)) == len(urls)


def test_a_page_that_kills_its_workers_is_dead_lettered(site: SiteServer, redis_server, tmp_path):
    archive = tmp_path / "archive"
    poison = site.url("/slow/60/poison.html")  # hangs: its worker is killed (as by an OOM)
    scrapy("enqueue", "poison", str(write_url_list(tmp_path / "p.txt", [poison])),
           "--redis", redis_server.url)  # fmt: skip
    settings = {"REDIS_LEASE": "1", "REDIS_MAX_DELIVERIES": "1"}
    w1 = start_worker("w1", archive, redis_server, "poison", **settings)
    wait_until(lambda: site.log.hits.get("/slow/60/poison.html", 0) >= 1, what="the poison page")
    os.kill(w1.pid, signal.SIGKILL)
    w1.wait(10)
    more = [site.url(f"/paced/poison-{i}.html") for i in range(5)]
    scrapy("enqueue", "poison", str(write_url_list(tmp_path / "p.txt", [poison, *more])),
           "--redis", redis_server.url)  # fmt: skip
    w2 = start_worker("w2", archive, redis_server, "poison", **settings)
    assert finish(w2) == [0]
    assert site.log.hits["/slow/60/poison.html"] == 1  # not fetched again
    status = scrapy("job", "status", "poison", "--redis", redis_server.url, "--json")
    assert status.returncode == 1  # finished, but with a dead letter
    report = json.loads(status.stdout)
    assert report["finished"] and report["dead_lettered"] == 1
    assert report["dead_letters"][0]["data"]["url"] == poison
    merged = scrapy("merge", str(archive), "--job", "poison", "--redis", redis_server.url)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    line = next(x for x in merged_manifest(archive) if x["url"] == poison)
    assert line["outcome"] == "error" and line["error"].startswith("poison: taken 2 times")
    assert line["seq"] == "000"


def test_the_job_survives_a_redis_restart(site: SiteServer, redis_server, tmp_path):
    archive = tmp_path / "archive"
    urls = [site.url(f"/paced/restart-{i}.html") for i in range(60)]
    scrapy("enqueue", "restart", str(write_url_list(tmp_path / "r.txt", urls)),
           "--redis", redis_server.url)  # fmt: skip
    worker = start_worker("w1", archive, redis_server, "restart", CONCURRENT_REQUESTS="2",
                          REDIS_BATCH="2")  # fmt: skip
    wait_until(lambda: lines_of(archive, "w1") >= 10, what="the first lines")
    redis_server.restart(down=1.0)  # the append-only file brings the job back
    assert finish(worker) == [0]
    merged = scrapy("merge", str(archive), "--job", "restart", "--redis", redis_server.url)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert sorted(x["url"] for x in merged_manifest(archive)) == sorted(urls)
    verify = scrapy("verify", str(archive))
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_worker_refuses_a_url_list_and_a_name_in_use(redis_server, tmp_path):
    archive = tmp_path / "archive"
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", "urls=x.txt", "-s", "JOB=j",
         "-s", f"REDIS_URL={redis_server.url}", "-s", f"ARCHIVE_DIR={archive}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1 and "scrapy enqueue JOB FILE" in result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "urls", "-s", "JOB=j", "-s",
         f"REDIS_URL={redis_server.url}", "-s", "REDIS_WORKER=../x", "-s",
         f"ARCHIVE_DIR={archive}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 1 and "invalid REDIS_WORKER" in bad.stderr
    for refused in (result, bad):  # one line saying why, no traceback
        assert "Traceback" not in refused.stderr and "never retrieved" not in refused.stderr


def test_two_workers_started_alike_on_one_machine_take_two_names(
    site: SiteServer, redis_server, tmp_path
):
    """The same command twice on one machine, no REDIS_WORKER: the host name and the host
    name with a number, claimed in Redis; a fixed name that a live worker holds is refused
    in one line, exit status 1, before anything is crawled."""
    archive = tmp_path / "archive"
    urls = [site.url(f"/paced/alike-{i}.html") for i in range(PACED)]
    enqueued = scrapy("enqueue", "alike", str(write_url_list(tmp_path / "l.txt", urls)),
                      "--redis", redis_server.url)  # fmt: skip
    assert enqueued.returncode == 0, enqueued.stderr
    # A lease long enough that a busy machine never lets a live worker's name lapse.
    slow = {"CONCURRENT_REQUESTS": "1", "REDIS_BATCH": "1", "REDIS_LEASE": "10"}
    first = start_worker(None, archive, redis_server, "alike", **slow)
    host = host_names()[0]
    wait_until(lambda: lines_of(archive, host) >= 1, what="the first worker's first line")
    second = start_worker(None, archive, redis_server, "alike", **slow)
    wait_until(lambda: lines_of(archive, f"{host}-2") >= 1, what="the second worker's first line")
    assert first.poll() is None  # alive: its name is taken
    refused = scrapy("crawl", "urls", "-s", "JOB=alike", "-s", f"REDIS_URL={redis_server.url}",
                     "-s", f"REDIS_WORKER={host}", "-s", "REDIS_LEASE=1",
                     "-s", f"ARCHIVE_DIR={archive}")  # fmt: skip
    assert finish(first, second) == [0, 0]
    assert refused.returncode == 1
    assert (
        f"The crawl cannot start: FrontierError: worker name {host!r} is in use" in refused.stderr
    )
    assert "Traceback" not in refused.stderr and "never retrieved" not in refused.stderr
    assert sorted(p.name for p in (archive / "workers").iterdir()) == [host, f"{host}-2"]
    merged = scrapy("merge", str(archive), "--job", "alike", "--redis", redis_server.url)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    seqs = Counter(line["seq"] for line in merged_manifest(archive))
    assert sorted(seqs) == [f"{i:03d}" for i in range(len(urls))] and set(seqs.values()) == {1}


def test_a_seeds_job_finds_what_one_crawl_finds(site: SiteServer, redis_server, tmp_path):
    """Two workers following the links of the same seed documents, depth 2: the URLs
    they discover go into the job's stream; after the merge the archive holds what a
    single crawl of the seeds holds, each URL once, with the same citation links."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for template in SEEDS.iterdir():
        data = template.read_bytes().replace(b"{{BASE}}", site.base_url.encode())
        (seeds / template.name).write_bytes(data)
    alone = run_crawl(tmp_path / "alone", "seeds", {"seeds": str(seeds), "depth": "2"})
    assert alone.returncode == 0, alone.log[-3000:]
    archive = tmp_path / "archive"
    workers = []
    for name in ("a", "b"):
        cmd = [sys.executable, "-m", "scrapy", "crawl", "seeds", "-a", f"seeds={seeds}",
               "-a", "depth=2"]  # fmt: skip
        merged = {**TEST_SETTINGS, "ARCHIVE_DIR": str(archive), "JOB": "seeds",
                  "REDIS_URL": redis_server.url, "REDIS_WORKER": name}  # fmt: skip
        for key, value in merged.items():
            cmd += ["-s", f"{key}={value}"]
        with (tmp_path / f"{name}.log").open("w") as log:
            workers.append(subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    assert finish(*workers) == [0, 0], (tmp_path / "a.log").read_text()[-3000:]
    merged_run = scrapy("merge", str(archive), "--job", "seeds", "--redis", redis_server.url)
    assert merged_run.returncode == 0, merged_run.stdout + merged_run.stderr
    lines = merged_manifest(archive)
    assert Counter(x["id"] for x in lines).most_common(1)[0][1] == 1
    assert {(x["url"], x["outcome"]) for x in lines} == {
        (x["url"], x["outcome"]) for x in alone.manifest
    }

    def pairs(path: Path) -> set[tuple[str, str]]:
        return {(x["from"], x["to"]) for x in map(json.loads, path.read_text().splitlines())}

    assert pairs(archive / "links.jsonl") == pairs(tmp_path / "alone" / "links.jsonl")
    verify = scrapy("verify", str(archive))
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_job_groups_syndicated_copies_at_the_merge(site: SiteServer, redis_server, tmp_path):
    """Workers do not group; the merge groups the whole corpus, in fetch order: the wire
    story and its copies share a group, the other story is alone, as in a local crawl."""
    names = [*STORY, COPY, OTHER]
    urls = [site.url(f"/wire/{n}.html") for n in names]
    archive = tmp_path / "archive"
    scrapy("enqueue", "wire", str(write_url_list(tmp_path / "w.txt", urls)),
           "--redis", redis_server.url)  # fmt: skip
    workers = [start_worker(n, archive, redis_server, "wire", REDIS_BATCH="1") for n in "ab"]
    assert finish(*workers) == [0, 0]
    merged = scrapy("merge", str(archive), "--job", "wire", "--redis", redis_server.url)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert merged.stdout.rstrip().endswith("; 1 groups of the same story")
    lines = merged_manifest(archive)
    groups: dict[str, set[str]] = {}
    for line in lines:
        groups.setdefault(line["group"], set()).add(line["url"].rsplit("/", 1)[-1])
    expected = {frozenset(f"{n}.html" for n in [*STORY, COPY]), frozenset([f"{OTHER}.html"])}
    assert {frozenset(g) for g in groups.values()} == expected
    assert sorted(x.get("group_kind", "first") for x in lines).count("first") == 2
    [group] = [json.loads(x) for x in (archive / "groups.jsonl").read_text().splitlines()]
    assert group["size"] == 4 and len(group["outlets"]) >= 1
    # A second merge of the same parts gives the same archive, groups included.
    before = (archive / "manifest.jsonl").read_bytes(), (archive / "groups.jsonl").read_bytes()
    again = scrapy("merge", str(archive), "--job", "wire", "--redis", redis_server.url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert " 0 lines of entries done twice" in again.stdout
    assert ((archive / "manifest.jsonl").read_bytes(),
            (archive / "groups.jsonl").read_bytes()) == before  # fmt: skip
    verify = scrapy("verify", str(archive))
    assert verify.returncode == 0, verify.stdout + verify.stderr

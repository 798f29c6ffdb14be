"""Politeness shared by every worker of a job: per-host request spacing (a token bucket
in Redis) and robots.txt (fetched once per job, read by every worker).

One Lua script per request reserves the next slot for its host: the bucket refills at
``rate`` tokens a second up to ``burst``; a request takes a token, and when none is
left it is given the wait until one will be (the bucket goes negative: later callers
queue behind it, in order, without polling). The clock is Redis's own (``TIME``), so
workers on machines whose clocks disagree still share one schedule.

Why a shared bucket rather than hosts sharded to workers: with sharding, one big site
is one worker's alone however many there are, and a dead worker's hosts wait for a
re-shard; a bucket costs one round trip per request (~0.1 ms on a LAN) and keeps every
worker busy on every host.

robots.txt: the first worker to fetch a host's robots.txt shares the answer (status and
body) under the job's keys for a day (how long Google and Scrapy's own cache keep one);
the others parse that copy instead of asking the site again. Workers that start at the
same moment may each fetch it once; never more.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

# KEYS[1]: the host's bucket. ARGV: rate (tokens/s), burst. Returns the wait in seconds.
_RESERVE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 60000)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class HostRate:
    """At most *rate* requests a second per host (bursts of *burst*), across workers."""

    def __init__(self, client: Any, key: Callable[[str], str], rate: float, burst: float = 1.0):
        if rate <= 0 or burst < 1:
            raise ValueError("the host rate must be > 0 and the burst >= 1")
        self.redis = client
        self.key = key
        self.rate = rate
        self.burst = burst
        self._reserve = client.register_script(_RESERVE)
        # How late a request may leave after its slot (s): a quarter of the spacing,
        # between 10 and 50 ms. Later, it would crowd the slots that follow; a tighter
        # bound than a reactor tick would requeue most requests of a fast host.
        self.tolerance = max(0.01, min(0.05, 0.25 / rate))

    def reserve(self, host: str) -> float:
        """Take the next slot for *host*; returns how long to wait before using it (s)."""
        return float(self._reserve(keys=[self.key(f"host:{host}")], args=[self.rate, self.burst]))


ROBOTS_TTL = 24 * 3600  # seconds a shared robots.txt answer is used
ROBOTS_MAX_SHARED = 512 * 1024  # bytes: Google reads no more of a robots.txt than this


class SharedRobots:
    """robots.txt answers (status, body) shared by the workers of a job."""

    def __init__(self, client: Any, key: Callable[[str], str]) -> None:
        self.redis = client
        self.key = key

    def get(self, netloc: str) -> tuple[int, bytes] | None:
        """The answer another worker got for *netloc*'s robots.txt, if any."""
        raw = self.redis.get(self.key(f"robots:{netloc}"))
        if raw is None:
            return None
        data = json.loads(raw)
        return int(data["status"]), base64.b64decode(data["body"])

    def put(self, netloc: str, status: int, body: bytes) -> None:
        """Share this worker's answer (the first one shared stays). Not shared: a huge
        one, and a server error or rate limit, which says nothing about the rules."""
        if len(body) > ROBOTS_MAX_SHARED or status >= 500 or status == 429:
            return
        data = json.dumps({"status": status, "body": base64.b64encode(body).decode("ascii")})
        self.redis.set(self.key(f"robots:{netloc}"), data, nx=True, ex=ROBOTS_TTL)

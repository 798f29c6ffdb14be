"""Checks of request rates on the arrival times a server saw."""

from __future__ import annotations


def too_fast(arrivals: list[float], rate: float, burst: float, slack: float = 0.1) -> list:
    """Windows of requests to one host above a token bucket's bound: *burst* plus *rate*
    per second, give or take *slack* seconds: the time between the bucket and the
    server, on a 2-core machine that runs three workers, their extraction processes and
    the site at once."""
    arrivals = sorted(arrivals)
    return [(j - i + 1, round(arrivals[j] - arrivals[i], 3))
            for i in range(len(arrivals)) for j in range(i + 1, len(arrivals))
            if j - i + 1 > burst + rate * (arrivals[j] - arrivals[i] + slack)]  # fmt: skip

"""What the tests share, and what the demo and the benchmarks use: the loopback site, the
Internet Archive stand-in, redis-server and Chromium drivers, record builders, the helper
that runs a real ``scrapy crawl``, and jobs and components crawls load by dotted path.

Test modules import from here, never from one another (nor from a conftest.py).
"""

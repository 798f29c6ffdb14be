"""Distributed jobs: joining a job, the Redis stream frontier, the state store in
Redis, shared politeness (host rate, robots.txt), merging the workers' parts. Plain;
the Scrapy side is ``crawler.scheduler``.
"""

"""The archive directory and its one owner, :class:`~crawler.archive.directory.Archive`:
layout, lock, recovery, atomic files, dumps, the state store (SQLite), syndication
groups, run records.
"""

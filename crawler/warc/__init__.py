"""WARC files: writing (rotation, ``.open``, revisits), reading (records, gzip members,
fast digests), and the CDXJ index.
"""

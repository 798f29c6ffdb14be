"""Where URLs come from: URL lists, the classification of a list entry, seed documents,
feeds and sitemaps, the sources file. Plain: parses what it is given, fetches nothing.
"""

"""Spiders, one module per input kind: ``urls`` (a URL list), ``seeds`` (the links of seed
documents), ``feeds`` (RSS/Atom feeds and sitemaps of a sources file); ``base`` turns
responses and failures into pages, ``discovering`` keeps the bookkeeping of the last two."""

"""The vocabulary every stage shares, a leaf that imports nothing of the project: items
(frozen records), manifest (the line of manifest.jsonl), identity (ids, names, digests),
outcomes, keys (meta and stats keys), urls (the URL validity rule), timefmt (ISO times,
durations), renamed (old import paths).
"""

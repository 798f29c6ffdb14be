"""Spiders: one module per input kind (``urls`` now; ``seeds`` and ``feeds`` to come)."""

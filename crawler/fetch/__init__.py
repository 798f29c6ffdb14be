"""Network policy, plain: which addresses may be fetched, retry timing, the Internet
Archive's CDX answers and memento URLs. The Scrapy side is ``downloadermiddlewares``.
"""

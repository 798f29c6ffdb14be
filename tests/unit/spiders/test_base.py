"""What every spider of the project sets up (crawler.spiders.base)."""

from __future__ import annotations


def test_contact_goes_into_the_user_agent(make_crawler):
    crawler = make_crawler(CRAWLER_CONTACT="archivist@example.org")
    assert crawler.settings["USER_AGENT"].endswith("; archivist@example.org)")
    assert crawler.settings["USER_AGENT"].startswith("newsarchiver/")

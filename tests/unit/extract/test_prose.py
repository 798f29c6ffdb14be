"""Words whatever the script: the article test and the manifest's `words`."""

from __future__ import annotations

import pytest

from crawler.extract.prose import has_prose, prose_words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("The council approved the budget on Tuesday.", 7),
        ("Harbor — Bridge | *reopens*", 3),  # punctuation alone is no word
        # Chinese and Japanese: about two characters a word
        ("政府周三宣布一项新计划帮助受干旱影响的农民", 11),  # 21 characters, half up
        (
            "政府は水曜日、干ばつの影響を受けた農家を支援する新たな計画を発表した。",
            17,
        ),  # 33 + punctuation
        # Korean separates its words with spaces
        ("항만 노동자들이 9일 노사 합의안을 받아들였다", 6),
        # Thai: about six code points a word
        ("รัฐบาลไทยประกาศมาตรการใหม่เพื่อช่วยเหลือเกษตรกร", 8),
        ("Tokyo 東京都庁 opened", 4),  # mixed: two words, and four characters
        ("", 0),
    ],
)
def test_prose_words(text, words):
    assert prose_words(text) == words


def test_a_paragraph_in_a_script_without_spaces_is_prose():
    japanese = "市内で最も古い湾岸橋が十四日朝、約二年ぶりに通行を再開した。"
    assert len(japanese.split()) == 1 and has_prose(japanese, 10)
    thai = "กรุงเทพมหานครเปิดให้บริการเรือโดยสารสาธารณะในคลองสายใหม่เมื่อวันอังคาร"
    assert has_prose(thai, 10)


def test_menus_and_headline_lists_are_not_prose():
    # short lines one under another, as trafilatura renders a menu or a list of headlines
    assert not has_prose("Home\nNews\nWorld\nSports", 10)
    headlines = (
        "The Loopback Courier\nHarbor Bridge Reopens After Two-Year Repair\n"
        'Council: "Budget" passes 7-2\nRover Finds Ancient Lake Bed'
    )
    assert not has_prose(headlines, 10)
    assert not has_prose("ホーム\n湾岸橋、通行再開\n地铁新线开通\n항만 파업 타결", 10)
    assert has_prose("Home\nNews\n\nOne two three four five six seven eight nine ten.", 10)


def test_has_prose():
    assert has_prose("Home\nNews\n\nOne two three four five six seven eight nine ten.", 10)
    assert not has_prose("Home\nNews\nWorld", 10)

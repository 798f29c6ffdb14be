"""A realistic news corpus of our own making: varied sites, sizes, languages and markup.

Real news pages differ more than one template can show: a portal page is 300-500 KB of
which the article is 2%, the rest inline state, ad configuration and menus; a wire brief
is 6 KB; a results page is mostly tables; a live blog is sixty timestamped posts; a
long read carries figures and pull quotes. This module writes such pages from six site
templates, in ten languages and four scripts (word salad from small news vocabularies,
seeded, so every page is distinct and every run gets the same corpus), a few in legacy
charsets, with the metadata real sites carry (JSON-LD, Open Graph, bylines, dates).
Nothing here is copied from a real site.

    pages = generate(1000)           # {"/<site>/<n>.html": bytes}
    python -m bench.realistic --pages 1000 --out DIR   # write them to disk
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# fmt: off
VOCABULARY = {
    "en": "harbor council budget bridge ferry strike minister election turnout province "
          "housing tunnel repair report engineer commuter resident market museum library "
          "river flood schedule contract delay inquiry court ruling appeal police hospital "
          "school student season record weather storm drought harvest price inflation wage "
          "union agreement protest mayor opposition vote government parliament company "
          "shares investors energy climate emissions railway airport",
    "de": "Hafen Stadtrat Haushalt Brücke Fähre Streik Minister Wahl Beteiligung Landkreis "
          "Wohnungen Tunnel Sanierung Bericht Ingenieure Pendler Bewohner Markt Museum "
          "Bibliothek Fluss Hochwasser Fahrplan Vertrag Verzögerung Untersuchung Gericht "
          "Urteil Polizei Krankenhaus Schule Saison Wetter Sturm Dürre Ernte Preise Inflation "
          "Löhne Gewerkschaft Einigung Protest Bürgermeister Opposition Regierung Bundestag "
          "Unternehmen Aktien Energie Klima Bahn Flughafen wurde hatte sollen",
    "fr": "port conseil budget pont ferry grève ministre élection participation département "
          "logement tunnel travaux rapport ingénieurs usagers habitants marché musée "
          "bibliothèque fleuve crue horaires contrat retard enquête tribunal décision police "
          "hôpital école saison météo tempête sécheresse récolte prix inflation salaires "
          "syndicat accord manifestation maire opposition gouvernement assemblée entreprise "
          "actions énergie climat chemin aéroport selon pendant",
    "es": "puerto concejo presupuesto puente ferri huelga ministro elecciones participación "
          "provincia viviendas túnel obras informe ingenieros vecinos mercado museo biblioteca "
          "río inundación horario contrato retraso investigación tribunal sentencia policía "
          "hospital escuela temporada tiempo tormenta sequía cosecha precios inflación salarios "
          "sindicato acuerdo protesta alcalde oposición gobierno congreso empresa acciones "
          "energía clima ferrocarril aeropuerto según durante",
    "pt": "porto câmara orçamento ponte balsa greve ministro eleição participação estado "
          "moradias túnel obras relatório engenheiros moradores mercado museu biblioteca rio "
          "enchente horário contrato atraso investigação tribunal decisão polícia hospital "
          "escola temporada tempo tempestade seca colheita preços inflação salários sindicato "
          "acordo protesto prefeito oposição governo congresso empresa ações energia clima "
          "ferrovia aeroporto segundo durante",
    "ru": "порт совет бюджет мост паром забастовка министр выборы явка область жильё тоннель "
          "ремонт доклад инженеры жители рынок музей библиотека река наводнение расписание "
          "контракт задержка расследование суд решение полиция больница школа сезон погода "
          "шторм засуха урожай цены инфляция зарплаты профсоюз соглашение протест мэр "
          "оппозиция правительство парламент компания акции энергия климат железная дорога "
          "аэропорт заявил",
    "tr": "liman meclis bütçe köprü feribot grev bakan seçim katılım il konut tünel onarım "
          "rapor mühendisler sakinler pazar müze kütüphane nehir sel tarife sözleşme gecikme "
          "soruşturma mahkeme karar polis hastane okul sezon hava fırtına kuraklık hasat "
          "fiyatlar enflasyon ücretler sendika anlaşma protesto belediye muhalefet hükümet "
          "şirket hisseler enerji iklim demiryolu havalimanı açıkladı",
    "ar": "الميناء المجلس الميزانية الجسر العبارة الإضراب الوزير الانتخابات المشاركة المحافظة "
          "المساكن النفق الإصلاح التقرير المهندسون السكان السوق المتحف المكتبة النهر الفيضان "
          "الجدول العقد التأخير التحقيق المحكمة الحكم الشرطة المستشفى المدرسة الموسم الطقس "
          "العاصفة الجفاف الحصاد الأسعار التضخم الأجور النقابة الاتفاق الاحتجاج رئيس البلدية "
          "المعارضة الحكومة البرلمان الشركة الأسهم الطاقة المناخ السكك المطار وقال",
    "ja": "港 議会 予算 橋 フェリー ストライキ 大臣 選挙 投票率 県 住宅 トンネル 修理 報告 技術者 "
          "住民 市場 博物館 図書館 川 洪水 時刻表 契約 遅延 調査 裁判所 判決 警察 病院 学校 季節 "
          "天気 台風 干ばつ 収穫 価格 物価 賃金 組合 合意 抗議 市長 野党 政府 国会 企業 株式 "
          "エネルギー 気候 鉄道 空港 によると 発表した",
    "zh": "港口 议会 预算 大桥 渡轮 罢工 部长 选举 投票率 省 住房 隧道 维修 报告 工程师 居民 市场 "
          "博物馆 图书馆 河流 洪水 时刻表 合同 延误 调查 法院 判决 警方 医院 学校 赛季 天气 台风 "
          "干旱 收成 价格 通胀 工资 工会 协议 抗议 市长 反对派 政府 人大 公司 股票 能源 气候 铁路 "
          "机场 表示 宣布",
}
# fmt: on
CJK = {"ja", "zh"}
STOP = {"ja": "。", "zh": "。", "ar": ".", "default": "."}
LANGUAGES = (("en", 34), ("de", 10), ("fr", 9), ("es", 9), ("pt", 6), ("ru", 8),
             ("tr", 5), ("ar", 5), ("ja", 7), ("zh", 7))  # fmt: skip
# Legacy charsets some sites still declare (and encode in).
LEGACY = {"de": "windows-1252", "fr": "iso-8859-1", "ru": "windows-1251", "ja": "shift_jis"}
TEMPLATES = (("portal", 25), ("blog", 18), ("wire", 20), ("data", 10), ("liveblog", 10),
             ("magazine", 17))  # fmt: skip
SITES = {
    "portal": "The Metro Portal", "blog": "Harbour Notes", "wire": "Loopback Wire",
    "data": "The Numbers Desk", "liveblog": "Live Desk", "magazine": "The Long Read",
}  # fmt: skip


@dataclass
class Writer:
    """Text in one language, from a seeded generator."""

    rng: random.Random
    lang: str

    def __post_init__(self) -> None:
        self.words = VOCABULARY[self.lang].split()

    def sentence(self, words: int) -> str:
        chosen = [self.rng.choice(self.words) for _ in range(words)]
        if self.lang in CJK:
            return "".join(chosen) + STOP[self.lang]
        text = " ".join(chosen)
        return text[0].upper() + text[1:] + STOP.get(self.lang, STOP["default"])

    def title(self) -> str:
        return self.sentence(self.rng.randint(6, 10))[:-1]

    def paragraph(self, sentences: tuple[int, int] = (3, 5)) -> str:
        return " ".join(self.sentence(self.rng.randint(10, 24))
                        for _ in range(self.rng.randint(*sentences)))  # fmt: skip

    def paragraphs(self, count: int, emphasis: bool = True) -> list[str]:
        found = []
        for _ in range(count):
            text = self.paragraph()
            if emphasis and self.rng.random() < 0.3:
                word = self.rng.choice(self.words)
                text = text.replace(
                    word, f'<a href="/topic/{self.rng.randrange(999)}">{word}</a>', 1
                )
            if emphasis and self.rng.random() < 0.15:
                word = self.rng.choice(self.words)
                text = text.replace(word, f"<strong>{word}</strong>", 1)
            found.append(text)
        return found


def _state_blob(rng: random.Random, size: int) -> str:
    """Inline application state of about *size* characters (what SSR sites ship)."""
    items, length = [], 0
    while length < size:
        item = {"id": rng.randrange(10**9), "slot": f"ad-{rng.randrange(99)}",
                "targeting": {"kw": [f"k{rng.randrange(9999)}" for _ in range(6)],
                              "pos": rng.choice(["top", "mid", "btf"])},
                "sizes": [[300, 250], [728, 90]], "lazy": rng.random() < 0.5,
                "teaser": {"headline": f"story {rng.randrange(10**6)}",
                           "url": f"/news/{rng.randrange(10**7)}.html"}}  # fmt: skip
        text = json.dumps(item)
        items.append(text)
        length += len(text) + 1
    return "[" + ",".join(items) + "]"


def _css(rng: random.Random, rules: int) -> str:
    return "".join(
        f".c{i}{{margin:{i % 7}px;padding:{i % 5}px;color:#{rng.randrange(16**6):06x}}}"
        for i in range(rules)
    )


def _menu(w: Writer, items: int) -> str:
    return "".join(f'<li><a href="/section/{i}/">{w.rng.choice(w.words)}</a></li>'
                   for i in range(items))  # fmt: skip


def _head(w: Writer, site: str, title: str, charset: str, author: str, date: str,
          extra: str = "") -> str:  # fmt: skip
    ld = json.dumps({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
        "datePublished": date, "inLanguage": w.lang,
        "author": {"@type": "Person", "name": author},
        "publisher": {"@type": "Organization", "name": site},
    }, ensure_ascii=False)  # fmt: skip
    return (
        f'<head><meta charset="{charset}"><title>{title} | {site}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="description" content="{w.sentence(16)}">'
        f'<meta property="og:title" content="{title}">'
        f'<meta property="og:site_name" content="{site}">'
        f'<meta property="og:type" content="article"><meta name="author" content="{author}">'
        f'<script type="application/ld+json">{ld}</script>{extra}</head>'
    )


def _page(index: int) -> tuple[str, str, str, str]:
    """Site template, language, charset and the HTML of page *index*."""
    rng = random.Random(index * 7919 + 17)
    lang = rng.choices([k for k, _ in LANGUAGES], [v for _, v in LANGUAGES])[0]
    template = rng.choices([k for k, _ in TEMPLATES], [v for _, v in TEMPLATES])[0]
    charset = LEGACY[lang] if lang in LEGACY and rng.random() < 0.15 else "utf-8"
    w = Writer(rng, lang)
    site, title = SITES[template], w.title()
    author = f"{w.rng.choice(w.words).title()} {w.rng.choice(w.words).title()}"
    date = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:15:00Z"
    html = globals()[f"_{template}"](w, site, title, author, date, charset)
    return template, lang, charset, html


def _portal(w: Writer, site: str, title: str, author: str, date: str, charset: str) -> str:
    state = _state_blob(w.rng, w.rng.randint(180_000, 420_000))
    scripts = "".join(
        f"<script>(function(){{var s{i}=document.createElement('script');s{i}.async=true;"
        f"window.dataLayer=window.dataLayer||[];dataLayer.push({{'event':'slot{i}'}});}})();</script>"
        for i in range(40)
    )
    body = "".join(f"<p>{p}</p>" for p in w.paragraphs(w.rng.randint(8, 16)))
    related = "".join(f'<li><a href="/news/{w.rng.randrange(10**6)}.html">{w.title()}</a></li>'
                      for _ in range(24))  # fmt: skip
    head = _head(w, site, title, charset, author, date,
                 f"<style>{_css(w.rng, 900)}</style>{scripts}")  # fmt: skip
    return (
        f'<!DOCTYPE html><html lang="{w.lang}">{head}<body class="article-page">'
        f'<div id="app"><header class="masthead"><a href="/" class="brand">{site}</a>'
        f'<nav class="mega"><ul>{_menu(w, 120)}</ul></nav></header>'
        f'<div class="ad ad-top" data-slot="top"></div>'
        f'<main><div class="layout"><div class="col-main"><div class="headline-block">'
        f'<h1 class="headline">{title}</h1><div class="meta"><span class="byline">{author}'
        f'</span> <time datetime="{date}">{date[:10]}</time></div></div>'
        f'<div class="article-body" itemprop="articleBody">{body}</div></div>'
        f'<aside class="col-side"><h3>{w.title()}</h3><ol>{related}</ol></aside></div></main>'
        f"<footer><ul>{_menu(w, 60)}</ul></footer></div>"
        f"<script>window.__PRELOADED_STATE__={state};</script></body></html>"
    )


def _blog(w: Writer, site: str, title: str, author: str, date: str, charset: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in w.paragraphs(w.rng.randint(7, 14)))
    comments = "".join(
        f'<li class="comment"><div class="comment-author">{w.rng.choice(w.words)}</div>'
        f'<div class="comment-content"><p>{w.sentence(w.rng.randint(8, 30))}</p></div></li>'
        for _ in range(w.rng.randint(5, 40))
    )
    widgets = "".join(f'<section class="widget"><h2>{w.title()}</h2><ul>{_menu(w, 12)}</ul>'
                      "</section>" for _ in range(6))  # fmt: skip
    head = _head(w, site, title, charset, author, date, f"<style>{_css(w.rng, 250)}</style>")
    return (
        f'<!DOCTYPE html><html lang="{w.lang}">{head}<body class="single-post">'
        f'<div id="page" class="site"><header id="masthead"><p class="site-title">{site}</p>'
        f'<nav id="site-navigation"><ul>{_menu(w, 10)}</ul></nav></header>'
        f'<div id="content"><div id="primary"><article class="post type-post">'
        f'<header class="entry-header"><h1 class="entry-title">{title}</h1>'
        f'<span class="posted-on"><time class="entry-date published" datetime="{date}">'
        f'{date[:10]}</time></span> <span class="author vcard">{author}</span></header>'
        f'<div class="entry-content">{body}</div></article>'
        f'<div id="comments"><h2 class="comments-title">{w.title()}</h2>'
        f'<ol class="comment-list">{comments}</ol></div></div>'
        f'<aside id="secondary" class="widget-area">{widgets}</aside></div>'
        f'<footer id="colophon"><p>{w.sentence(8)}</p></footer></div></body></html>'
    )


def _wire(w: Writer, site: str, title: str, author: str, date: str, charset: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in w.paragraphs(w.rng.randint(3, 6), emphasis=False))
    head = _head(w, site, title, charset, author, date,
                 f"<style>{_css(w.rng, w.rng.randint(20, 60))}</style>")  # fmt: skip
    return (
        f'<!DOCTYPE html><html lang="{w.lang}">{head}<body><div class="wrap">'
        f"<nav><ul>{_menu(w, w.rng.randint(30, 60))}</ul></nav>"
        f'<a href="/">{site}</a><h1>{title}</h1><p class="dateline">{date[:10]} ({site})</p>'
        f'<div class="story">{body}</div><p class="copyright">{w.sentence(6)}</p>'
        "</div></body></html>"
    )


def _table(w: Writer, rows: int, columns: int) -> str:
    head = "".join(f"<th>{w.rng.choice(w.words)}</th>" for _ in range(columns))
    body = "".join(
        "<tr><td>"
        + w.rng.choice(w.words)
        + "</td>"
        + "".join(f"<td>{w.rng.randint(0, 99999):,}</td>" for _ in range(columns - 1))
        + "</tr>"
        for _ in range(rows)
    )
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _data(w: Writer, site: str, title: str, author: str, date: str, charset: str) -> str:
    parts = []
    for paragraph in w.paragraphs(w.rng.randint(5, 9)):
        parts.append(f"<p>{paragraph}</p>")
        if w.rng.random() < 0.45:
            parts.append(_table(w, w.rng.randint(10, 45), w.rng.randint(3, 8)))
    head = _head(w, site, title, charset, author, date, f"<style>{_css(w.rng, 300)}</style>")
    charts = "".join(f'<script>window.chart{i}={json.dumps([w.rng.random() for _ in range(300)])};'
                     "</script>" for i in range(6))  # fmt: skip
    return (
        f'<!DOCTYPE html><html lang="{w.lang}">{head}<body><header><nav><ul>{_menu(w, 30)}'
        f'</ul></nav></header><main id="main"><section class="story">'
        f'<h1>{title}</h1><p class="by">{author} · {date[:10]}</p>'
        f'<div class="story-content">{"".join(parts)}</div></section></main>{charts}'
        f"<footer>{_menu(w, 20)}</footer></body></html>"
    )


def _liveblog(w: Writer, site: str, title: str, author: str, date: str, charset: str) -> str:
    posts = "".join(
        f'<div class="live-post" id="post-{i}"><time>{(i * 7) % 24:02d}:{(i * 13) % 60:02d}</time>'
        f"<h3>{w.title()}</h3>{''.join(f'<p>{p}</p>' for p in w.paragraphs(w.rng.randint(1, 3)))}"
        f'<div class="share"><a href="#post-{i}">#</a></div></div>'
        for i in range(w.rng.randint(30, 60))
    )
    head = _head(w, site, title, charset, author, date, f"<style>{_css(w.rng, 400)}</style>")
    poll = "<script>setInterval(function(){fetch('/live/poll.json')},30000);</script>"
    return (
        f'<!DOCTYPE html><html lang="{w.lang}">{head}<body><header class="bar">{site}'
        f"<nav><ul>{_menu(w, 40)}</ul></nav></header><main><h1>{title}</h1>"
        f'<p class="summary">{w.paragraph((2, 3))}</p><div class="live-feed">{posts}</div>'
        f"</main>{poll}<footer>{_menu(w, 30)}</footer></body></html>"
    )


def _magazine(w: Writer, site: str, title: str, author: str, date: str, charset: str) -> str:
    parts = []
    for i, paragraph in enumerate(w.paragraphs(w.rng.randint(25, 45))):
        parts.append(f"<p>{paragraph}</p>")
        if i % 9 == 4:
            parts.append(f'<figure><img src="/img/{w.rng.randrange(10**6)}.jpg" alt="">'
                         f"<figcaption>{w.sentence(12)}</figcaption></figure>")  # fmt: skip
        if i % 11 == 7:
            parts.append(f'<blockquote class="pull">{w.sentence(14)}</blockquote>')
    head = _head(w, site, title, charset, author, date,
                 f"<style>{_css(w.rng, 1200)}</style>"
                 f"<script>window.__CFG__={_state_blob(w.rng, 60_000)};</script>")  # fmt: skip
    return (
        f'<!DOCTYPE html><html lang="{w.lang}">{head}<body><header class="site-header">'
        f'<a href="/">{site}</a><nav><ul>{_menu(w, 25)}</ul></nav></header>'
        f'<article class="longform"><header><p class="kicker">{w.rng.choice(w.words)}</p>'
        f'<h1>{title}</h1><p class="dek">{w.sentence(20)}</p><p class="byline">{author}</p>'
        f'<time datetime="{date}">{date[:10]}</time></header>'
        f'<div class="body">{"".join(parts)}</div></article>'
        f'<section class="newsletter"><h2>{w.title()}</h2><form><input type="email"></form>'
        f"</section><footer>{_menu(w, 40)}</footer></body></html>"
    )


def generate(pages: int) -> dict[str, bytes]:
    """``/<template>/<n>.html`` -> the page's bytes (in its declared charset)."""
    found = {}
    for index in range(pages):
        template, _, charset, html = _page(index)
        found[f"/{template}/{index}.html"] = html.encode(charset, errors="xmlcharrefreplace")
    return found


def describe(pages: int) -> str:
    """Templates, languages, charsets and sizes of the corpus, in a line each."""
    kinds: Counter[str] = Counter()
    langs: Counter[str] = Counter()
    charsets: Counter[str] = Counter()
    sizes = []
    for index in range(pages):
        template, lang, charset, html = _page(index)
        kinds[template] += 1
        langs[lang] += 1
        charsets[charset] += 1
        sizes.append(len(html.encode(charset, errors="xmlcharrefreplace")))
    sizes.sort()
    return (
        f"templates {dict(kinds)}\nlanguages {dict(langs)}\ncharsets {dict(charsets)}\n"
        f"sizes KB: min {sizes[0] / 1024:.0f}, median {sizes[len(sizes) // 2] / 1024:.0f}, "
        f"mean {sum(sizes) / len(sizes) / 1024:.0f}, max {sizes[-1] / 1024:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--out", type=Path, help="write the pages under this directory")
    args = parser.parse_args()
    print(describe(args.pages))
    if args.out:
        for path, body in generate(args.pages).items():
            target = args.out / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)


if __name__ == "__main__":
    main()

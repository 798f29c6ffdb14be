"""What a page and a stylesheet need: crawler.extract.requisites."""

from __future__ import annotations

from crawler.extract.requisites import (
    css_requisites,
    css_requisites_bytes,
    html_requisites,
    srcset_urls,
)

PAGE = "https://news.example/2024/story.html"


def found(body: str, url: str = PAGE) -> list[tuple[str, str]]:
    return [(r.kind, r.url) for r in html_requisites(body.encode(), url)]


def test_stylesheets_icons_scripts_and_preloads():
    got = found("""<html><head>
      <link rel="stylesheet" href="/css/a.css"><link rel="Alternate StyleSheet" href="b.css">
      <link rel="icon" href="/favicon.png"><link rel="apple-touch-icon" href="/touch.png">
      <link rel="preload" as="font" href="/f.woff2" crossorigin>
      <link rel="preload" as="image" imagesrcset="/h-1.png 1x, /h-2.png 2x">
      <link rel="modulepreload" href="/m.js"><link rel="prefetch" href="/next.html">
      <link rel="alternate" href="/feed.xml"><link rel="canonical" href="/c.html">
      <script src="/app.js"></script><script>var inline = 1;</script>
    </head><body></body></html>""")
    assert got == [
        ("stylesheet", "https://news.example/css/a.css"),
        ("stylesheet", "https://news.example/2024/b.css"),
        ("icon", "https://news.example/favicon.png"),
        ("icon", "https://news.example/touch.png"),
        ("font", "https://news.example/f.woff2"),
        ("image", "https://news.example/h-1.png"),
        ("image", "https://news.example/h-2.png"),
        ("script", "https://news.example/m.js"),
        ("script", "https://news.example/app.js"),
    ]


def test_every_image_candidate_pictures_frames_and_posters():
    got = found("""<body>
      <img src="a.jpg" srcset="a-400.jpg 400w, https://cdn.example/a,800.jpg 800w, a.jpg 2x">
      <picture><source srcset="p.webp" type="image/webp"><source srcset="p.avif 1x,p2.avif 2x">
        <img src="p.jpg"></picture>
      <video poster="poster.jpg"><source src="clip.mp4"></video>
      <iframe src="/embed/map.html"></iframe><frameset><frame src="f.html"></frameset>
      <input type="image" src="go.png"><table background="t.gif"><tr><td>x</td></tr></table>
    </body>""")
    assert [url.rsplit("/", 1)[-1] for _, url in got] == [
        "a.jpg", "a-400.jpg", "a,800.jpg", "p.webp", "p.avif", "p2.avif", "p.jpg",
        "poster.jpg", "map.html", "f.html", "go.png", "t.gif",
    ]  # fmt: skip
    assert ("frame", "https://news.example/embed/map.html") in got
    assert "clip.mp4" not in str(got)  # a video plays on demand: not what the page shows


def test_inline_styles_and_style_elements():
    got = found("""<head><style>
      @import url("/css/more.css");
      /* .x { background: url(commented.png) } */
      .hero { background: url('/img/hero.png') }
    </style></head><body><div style="background-image:url(&quot;/img/box.png&quot;)"></div>
    <p style="color: red">no url</p></body>""")
    assert got == [
        ("stylesheet", "https://news.example/css/more.css"),
        ("image", "https://news.example/img/hero.png"),
        ("image", "https://news.example/img/box.png"),
    ]


def test_base_href_fragments_schemes_and_repeats():
    got = found("""<head><base href="https://static.example/s/"></head><body>
      <img src="one.png#x"><img src="one.png"><img src="data:image/png;base64,AAAA">
      <img src="javascript:void(0)"><img src="blob:https://x/1"><img src="">
      <img src="#top"><img src="https://[bad/x.png"><img src="//cdn.example/two.png">
    </body>""")
    assert got == [
        ("image", "https://static.example/s/one.png"),
        ("image", "https://cdn.example/two.png"),
    ]


def test_a_page_is_not_its_own_requisite_and_empty_pages_have_none():
    assert found(f'<body><iframe src="{PAGE}#comments"></iframe></body>') == []
    assert html_requisites(b"", PAGE) == ()
    assert html_requisites(b"   ", PAGE) == ()


def test_srcset_parsing():
    assert srcset_urls("a.jpg 1x, b.jpg 2x") == ["a.jpg", "b.jpg"]
    assert srcset_urls("a.jpg, b.jpg 2x,c.jpg") == ["a.jpg", "b.jpg", "c.jpg"]
    assert srcset_urls("  x,1.jpg  100w ,y.jpg 200w") == ["x,1.jpg", "y.jpg"]
    assert srcset_urls("") == []


CSS = "https://news.example/css/main.css"


def test_css_imports_urls_fonts_nested_rules():
    css = """
      @charset "utf-8";
      @import url("base.css");
      @import 'print.css' print;
      @import url(layout.css) screen and (min-width: 600px);
      @font-face { font-family: X; src: url(../f/x.woff2) format("woff2"), url("../f/x.woff"); }
      body { background: #fff url(../img/bg.png) repeat; }
      @media (min-width: 600px) { .hero { background-image: url('../img/wide.png'); } }
      @supports (display: grid) { @media print { .p { background: url(../img/deep.png) } } }
      @layer base { .l { background: url(../img/layer.png) } }
      .logo { background-image: image-set("../img/l1.png" 1x, url(../img/l2.png) 2x); }
      .card { & .inner { background: url(../img/nested.png); } }
      /* .gone { background: url(../img/commented.png) } */
      .data { background: url(data:image/png;base64,AAAA); }
      .esc { background: url(../img/a\\(1\\).png); }
    """
    got = [(r.kind, r.url.removeprefix("https://news.example/")) for r in css_requisites(css, CSS)]
    assert got == [
        ("stylesheet", "css/base.css"),
        ("stylesheet", "css/print.css"),
        ("stylesheet", "css/layout.css"),
        ("font", "f/x.woff2"),
        ("font", "f/x.woff"),
        ("image", "img/bg.png"),
        ("image", "img/wide.png"),
        ("image", "img/deep.png"),
        ("image", "img/layer.png"),
        ("image", "img/l1.png"),
        ("image", "img/l2.png"),
        ("image", "img/nested.png"),
        ("image", "img/a(1).png"),
    ]


def test_css_bytes_are_decoded_as_css_says():
    css = '@charset "iso-8859-1"; .x { background: url("caf\xe9.png") }'.encode("latin-1")
    (found_one,) = css_requisites_bytes(css, CSS)
    assert found_one.url == "https://news.example/css/café.png"  # not mojibake
    assert css_requisites_bytes(b"\xff\xfe garbage {", CSS) == ()

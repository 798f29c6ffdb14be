"""CompressedBodyMiddleware (crawler.downloadermiddlewares.compression), before Scrapy's
HttpCompressionMiddleware."""

from __future__ import annotations

from scrapy.http import HtmlResponse, Request


def test_compressed_html_is_not_charset_sniffed_before_decompression(make_crawler, monkeypatch):
    """A gzip body typed HtmlResponse from its URL reaches HttpCompressionMiddleware as a
    plain Response: nothing guesses the charset of compressed bytes, and the decompressed
    response is HTML with the charset its page declares."""
    import gzip

    from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
    from scrapy.http import Response, TextResponse

    from crawler.downloadermiddlewares.compression import CompressedBodyMiddleware

    sniffed: list[bytes] = []
    real = TextResponse._auto_detect_fun

    def detect(self: TextResponse, text: bytes) -> str | None:
        sniffed.append(text)
        return real(self, text)

    monkeypatch.setattr(TextResponse, "_auto_detect_fun", detect)
    html = '<html><head><meta charset="windows-1251"></head><p>Новости</p></html>'
    request = Request("http://news.example/page.html")
    wire = HtmlResponse(
        request.url,
        body=gzip.compress(html.encode("cp1251")),
        headers={"Content-Encoding": "gzip", "Content-Type": "text/html"},
        request=request,
    )
    plain = CompressedBodyMiddleware().process_response(request, wire)
    assert type(plain) is Response and plain.body == wire.body and plain.headers == wire.headers
    decompress = HttpCompressionMiddleware.from_crawler(make_crawler())
    page = decompress.process_response(request, plain)
    assert isinstance(page, HtmlResponse) and page.encoding == "cp1251"
    assert "Новости" in page.text and "Content-Encoding" not in page.headers
    assert sniffed == []
    # Unencoded and already-plain responses pass through untouched.
    unencoded = HtmlResponse(request.url, body=b"<p>x</p>", request=request)
    assert CompressedBodyMiddleware().process_response(request, unencoded) is unencoded

"""Compressed bodies handed to HttpCompressionMiddleware as plain responses (no charset
sniffing of gzip bytes before they are decompressed)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.http import Request, Response

if TYPE_CHECKING:
    pass


logger = logging.getLogger(__name__)


class CompressedBodyMiddleware:
    """Hands HttpCompressionMiddleware a compressed body as a plain ``Response``.

    Scrapy 2.19 types a gzip-encoded ``/page.html`` as an ``HtmlResponse`` from its URL;
    decompressing it, HttpCompressionMiddleware copies that response's attributes,
    ``encoding`` among them, which sniffs the charset of the *compressed* bytes: no
    declaration is found in gzip data, so charset-normalizer runs over it (a quarter of
    the crawler process's CPU on real pages) for an answer nobody uses. A plain
    ``Response`` has no encoding to sniff; the decompressed one gets its type as usual.
    Sits at 595, just before HttpCompressionMiddleware (590) on the way back. Reads the
    response's Content-Encoding; changes nothing else.
    """

    def process_response(self, request: Request, response: Response) -> Response:
        if type(response) is Response or b"Content-Encoding" not in response.headers:
            return response
        return Response(**{name: getattr(response, name) for name in Response.attributes})

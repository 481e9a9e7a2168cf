"""A result page's body is read in 1 MiB pieces, not requests' default 10 KB ones: the
number of reads from the raw stream is counted, for a plain and a gzip-compressed page."""

from __future__ import annotations

import gzip
import io

import requests
import urllib3

from sfnotebook.bulk._pages import _read_body

MIB = 1 << 20


class _CountingStream(io.BytesIO):
    """The connection's byte stream, counting the reads urllib3 makes of it."""

    reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)


def _response(
    body: bytes, encoding: str | None = None
) -> tuple[requests.Response, _CountingStream]:
    stream = _CountingStream(body)
    headers = {"Content-Length": str(len(body)), "Content-Type": "text/csv"}
    if encoding:
        headers["Content-Encoding"] = encoding
    resp = requests.Response()
    resp.status_code = 200
    resp.raw = urllib3.HTTPResponse(
        body=stream, headers=headers, status=200, preload_content=False, decode_content=True
    )
    return resp, stream


def _page(size: int) -> bytes:
    row = b'"001000000000001AAA","Acme, Inc.","2026-12-01T00:00:00.000Z"\n'
    return (b'"Id","Name","CreatedDate"\n' + row * (size // len(row) + 1))[:size]


def test_a_plain_page_is_read_in_1_mib_pieces() -> None:
    data = _page(8 * MIB + 123)
    resp, stream = _response(data)
    assert bytes(_read_body(resp)) == data
    assert stream.reads <= 10  # 9 pieces and the empty read at the end; 10 KB pieces: 840


def test_a_gzip_page_is_read_in_1_mib_pieces() -> None:
    data = _page(8 * MIB)
    resp, stream = _response(gzip.compress(data), "gzip")
    assert bytes(_read_body(resp)) == data
    assert stream.reads <= 4  # the compressed body is well under 2 MiB

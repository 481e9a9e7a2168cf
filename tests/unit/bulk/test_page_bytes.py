"""A result page's bytes live in an anonymous map of their own (PageBytes), released once the
page is converted, and when reading, checking or parsing it fails."""

from __future__ import annotations

import gzip
import io
import random
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
import requests
import urllib3

from sfnotebook._answers import Body
from sfnotebook._session import RetryPolicy
from sfnotebook.bulk import _buffer, _pages
from sfnotebook.bulk._buffer import PageBytes
from sfnotebook.bulk._collect import Collector
from sfnotebook.bulk._pages import Page, _read_body, fetch_page
from sfnotebook.bulk._parquet import ParquetFolder, prepare_folder
from sfnotebook.errors import UnexpectedAnswerError

HEADER = b'"Id","Name","Amount"\n'
ROWS = [
    b'"006000000000001AAA","Acme, Inc.","10.5"\n',
    b'"006000000000002AAA","two\r\nlines","20"\n',
    b'"006000000000003AAA","cr\ronly","30"\n',
    b'"006000000000004AAA","","40"\n',
]
PAGE = HEADER + b"".join(ROWS)


def _pieces(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), 12))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@pytest.mark.parametrize("seed", range(20))
def test_line_breaks_are_counted_as_the_pieces_arrive(seed: int) -> None:
    data = PAGE * 3 + b"\r" + b"\n" + b"\r\r\n\n"
    page = PageBytes(8)  # too small: grows
    for piece in _pieces(data, seed):
        page = page.extend(piece)
    page = page.finish()
    assert len(page) == page.written == len(data)
    assert page[:] == data and bytes(page) == data
    for sub in (b"\n", b"\r", b"\r\n", b'"', b",", b'","', b"", b"absent"):
        assert page.count(sub) == data.count(sub), sub
    assert page.find(b"cr\r") == data.find(b"cr\r")
    assert page[-3:] == data[-3:]


def test_repr_shows_only_the_size() -> None:
    page = PageBytes.of(b'"Id"\n"secret-token"\n')
    assert repr(page) == "<20 bytes of an answer>"
    page.release()
    assert page.closed and repr(page) == "<closed page bytes>"
    page.release()  # twice is fine


def test_a_page_held_by_a_view_is_unmapped_when_the_view_goes() -> None:
    page = PageBytes.of(PAGE)
    view = memoryview(page)
    page.release()  # no BufferError: the view still reads the bytes
    assert not page.closed and bytes(view[: len(HEADER)]) == HEADER
    view.release()
    page.release()
    assert page.closed


@pytest.mark.parametrize(
    "refusal",
    [SystemError("mmap: resizing not available--no mremap()"), OSError(12, "ENOMEM"), ValueError],
)
def test_where_a_map_cannot_be_resized_it_is_copied(
    monkeypatch: pytest.MonkeyPatch, refusal: BaseException
) -> None:
    made: list[PageBytes] = []

    class NoResize(PageBytes):
        def __new__(cls, capacity: int) -> NoResize:
            made.append(page := super().__new__(cls, capacity))
            return page  # type: ignore[return-value]

        def resize(self, newsize: int) -> None:
            raise refusal

    monkeypatch.setattr(_buffer, "PageBytes", NoResize)
    page: PageBytes = NoResize(4)
    for piece in _pieces(PAGE, 1):
        page = page.extend(piece)
    page = page.finish()
    assert bytes(page) == PAGE and page.count(b"\n") == PAGE.count(b"\n")
    assert len(made) > 2 and all(m.closed for m in made if m is not page)


# --------------------------------------------------------------------------- reading a body


class _Stream(io.BytesIO):
    """The connection's byte stream; ``fail_after`` bytes in, it breaks off."""

    def __init__(self, body: bytes, fail_after: int | None = None) -> None:
        super().__init__(body)
        self.fail_after = fail_after

    def read(self, size: int | None = -1) -> bytes:
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise urllib3.exceptions.ProtocolError("connection broken")
        return super().read(min(size or 1 << 16, 1 << 16) if size and size > 0 else 1 << 16)


def _response(
    body: bytes,
    *,
    encoding: str | None = None,
    fail_after: int | None = None,
    length: bool = True,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    sent = {"Content-Type": "text/csv", **(headers or {})}
    if length:
        sent["Content-Length"] = str(len(body))
    if encoding:
        sent["Content-Encoding"] = encoding
    resp = requests.Response()
    resp.status_code = 200
    resp.headers.update(sent)
    resp.url = "https://example.my.salesforce.com/services/data/v62.0/jobs/query/750x/results"
    resp.raw = urllib3.HTTPResponse(
        body=_Stream(body, fail_after),
        headers=sent,
        status=200,
        preload_content=False,
        decode_content=True,
    )
    return resp


@pytest.fixture
def maps(monkeypatch: pytest.MonkeyPatch) -> list[PageBytes]:
    """Every PageBytes the body reader makes."""
    made: list[PageBytes] = []
    real = PageBytes.__new__

    def new(cls: type[PageBytes], capacity: int) -> PageBytes:
        made.append(page := real(cls, capacity))
        return page

    monkeypatch.setattr(PageBytes, "__new__", new)
    return made


@pytest.mark.parametrize(
    ("encoding", "length"), [(None, True), ("gzip", True), (None, False), ("gzip", False)]
)
def test_a_body_is_read_into_a_map_of_its_size(
    maps: list[PageBytes], encoding: str | None, length: bool
) -> None:
    data = PAGE * 50_000  # ~7 MB
    sent = gzip.compress(data) if encoding else data
    body = _read_body(_response(sent, encoding=encoding, length=length))
    assert isinstance(body, PageBytes) and len(body) == len(data) and bytes(body) == data
    assert body.count(b"\n") == data.count(b"\n")
    assert maps == [body]  # grown in place (mremap), never copied


def test_an_empty_body_is_an_empty_body(maps: list[PageBytes]) -> None:
    body = _read_body(_response(b""))
    assert isinstance(body, Body) and body == b""
    assert all(m.closed for m in maps)


def test_a_body_that_breaks_off_releases_its_map(maps: list[PageBytes]) -> None:
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _read_body(_response(PAGE * 20_000, fail_after=1 << 20))
    assert maps and all(m.closed for m in maps)


def _conn(answers: Iterator[requests.Response]) -> Any:
    return SimpleNamespace(
        session=SimpleNamespace(policy=RetryPolicy(retries=1, backoff=0.0)),
        request=lambda *_a, **_k: next(answers),
        url=lambda url: f"https://example.my.salesforce.com/{url}",
    )


def test_a_page_that_is_no_csv_releases_its_map(maps: list[PageBytes]) -> None:
    html = b"<html><body>Maintenance</body></html>\n"
    conn = _conn(iter([_response(html, headers={"Content-Type": "text/html"})]))
    with pytest.raises(UnexpectedAnswerError, match="HTML"):
        fetch_page(conn, "jobs/query/750x/results", check=lambda page: 0)
    assert maps and all(m.closed for m in maps)


def test_a_short_page_read_again_releases_both_maps(maps: list[PageBytes]) -> None:
    counted = {"Sforce-NumberOfRecords": str(len(ROWS))}
    short = _response(HEADER + b"".join(ROWS[:-1]), headers=counted)
    whole = _response(PAGE, headers=counted)
    conn = _conn(iter([short, whole]))
    seen: list[bytes] = []

    def check(page: Page) -> int:
        seen.append(bytes(page.data))
        rows = bytes(page.data).count(b'\n"006')
        page.release()
        return rows

    _, rows = fetch_page(conn, "jobs/query/750x/results", check=check)
    assert rows == len(ROWS) and seen[-1] == PAGE
    assert len(maps) == 2 and all(m.closed for m in maps)


# --------------------------------------------------------------------------- converting a page

DESCRIBE = {
    "name": "Opportunity",
    "fields": [
        {"name": n, "type": t, "referenceTo": [], "relationshipName": None}
        for n, t in [("Id", "id"), ("Name", "string"), ("Amount", "currency")]
    ],
}


def _collector(tmp_path: Path | None = None) -> Collector:
    conn = SimpleNamespace(describe=lambda name: DESCRIBE)
    target = prepare_folder(tmp_path / "opps", overwrite=False) if tmp_path else None
    return Collector(
        conn,  # type: ignore[arg-type]
        "SELECT Id, Name, Amount FROM Opportunity",
        root="Opportunity",
        target=target,
        dtypes=None,
    )


def _page(data: bytes) -> Page:
    resp = _response(data, headers={"Sforce-NumberOfRecords": str(len(ROWS))})
    return Page(0, PageBytes.of(data), None, len(ROWS), resp)


def _unmapped(held: weakref.ref[Any]) -> bool:
    """The map is closed, or gone (unmapped as it was collected). pyarrow's CSV reader may
    still hold a view of its input for a moment after it returned (its I/O threads let go
    of the buffer asynchronously): release() then leaves the unmapping to that view."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        page = held()
        if page is None or page.closed:
            return True
        del page
        time.sleep(0.001)
    return False


def test_a_converted_page_has_released_its_map() -> None:
    page = _page(PAGE)
    held = weakref.ref(page.data)
    result = _collector().handle(page)
    assert result.rows == len(ROWS) and result.table is not None
    assert page.data == b"" and _unmapped(held)
    assert result.table.column("Name").to_pylist()[1:3] == ["two\r\nlines", "cr\ronly"]


def test_the_map_is_released_before_the_parquet_file_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = _page(PAGE)
    held = weakref.ref(page.data)
    released_when_written: list[bool] = []
    write = ParquetFolder.write

    def spy(self: ParquetFolder, index: int, table: pa.Table) -> Path:
        released_when_written.append(isinstance(page.data, Body) and _unmapped(held))
        return write(self, index, table)

    monkeypatch.setattr(ParquetFolder, "write", spy)
    result = _collector(tmp_path).handle(page)
    assert result.rows == len(ROWS) and result.table is None
    assert released_when_written == [True]


@pytest.mark.parametrize(
    "data",
    [
        HEADER + b'"006000000000001AAA","x","not a number"\n',  # does not parse
        b'"Id","Other","Amount"\n"006000000000001AAA","x","1"\n',  # another header
        b'"Id","Name"\n"006000000000001AAA","x"\n',  # a column short of the SELECT list
    ],
)
def test_a_page_that_fails_to_convert_has_released_its_map(data: bytes) -> None:
    collector = _collector()
    collector.handle(_page(PAGE))  # the first page fixes the schema
    page = _page(data)
    held = weakref.ref(page.data)
    with pytest.raises(UnexpectedAnswerError) as info:
        collector.handle(page)
    del info  # the traceback's frames hold the map too
    assert page.data == b"" and _unmapped(held)


def test_a_page_with_nul_bytes_is_converted_from_a_copy_and_released() -> None:
    page = _page(PAGE.replace(b"Acme", b"Ac\x00me"))
    held = weakref.ref(page.data)
    result = _collector().handle(page)
    assert result.table is not None and result.table.column("Name")[0].as_py() == "Acme, Inc."
    assert _unmapped(held)


def test_pages_are_read_in_large_pieces() -> None:
    assert _pages._READ_SIZE == 1 << 20

"""The edge's shape checks, one answer at a time: ``fields=``/``items=`` on JSON answers, and
:func:`sfnotebook._answers.check_csv` on Bulk API 2.0 result pages.

Every refusal is an :class:`~sfnotebook.errors.UnexpectedAnswerError` naming the endpoint and
the status, saying what was wrong, and showing the start of the body with tokens masked.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from sfnotebook._answers import Body, check_csv, decode_json
from sfnotebook._api import Fields
from sfnotebook.errors import UnexpectedAnswerError

URL = "https://acme.my.salesforce.com/services/data/v68.0/jobs/query/750000000000001AAA/results"
ENDPOINT = "GET /services/data/v68.0/jobs/query/750000000000001AAA/results"
TOKEN = "00D000000000001!AQ" + "t0k3n" * 12
PAGE = b'"Id","Name"\n"006000000000001AAA","Acme, Inc."\n"006000000000002AAA","Globex"\n'


def _answer(body: bytes, content_type: str | None = "text/csv") -> requests.Response:
    resp = requests.Response()
    resp.status_code = 200
    if content_type is not None:
        resp.headers["Content-Type"] = content_type
    resp._content = body
    resp.url = URL
    return resp


# ---- fields= and items= -------------------------------------------------------------------------

STATUS: Fields = {"state": str, "numberRecordsProcessed": (int, None), "object": (str, None)}


@pytest.mark.parametrize(
    "body",
    [
        b'{"state": "InProgress"}',
        b'{"state": "InProgress", "numberRecordsProcessed": null, "object": null}',
        b'{"state": "JobComplete", "numberRecordsProcessed": 0, "object": "Account", "x": []}',
    ],
)
def test_fields_accept_the_documented_shapes(body: bytes) -> None:
    resp = _answer(body, "application/json")
    assert decode_json(resp, endpoint="status", fields=STATUS)["state"]


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"[]", "a JSON array where an object belongs"),
        (b'{"numberRecordsProcessed": 3}', "an object without 'state' (keys: numberRecordsProcessed)"),
        (b'{"state": 5}', "an object whose 'state' is a JSON number where a string belongs"),
        (b'{"state": null}', "an object whose 'state' is a JSON null where a string belongs"),
        (b'{"state": "x", "numberRecordsProcessed": true}', "an object whose 'numberRecordsProcessed' is a JSON boolean where a whole number belongs"),
        (b'{"state": "x", "numberRecordsProcessed": "9"}', "an object whose 'numberRecordsProcessed' is a JSON string where a whole number belongs"),
        (b'{"state": "x", "numberRecordsProcessed": 9.5}', "an object whose 'numberRecordsProcessed' is a JSON number where a whole number belongs"),
        (b'{"state": "x", "object": {}}', "an object whose 'object' is a JSON object where a string belongs"),
    ],
)  # fmt: skip
def test_fields_refuse_a_missing_or_mistyped_key(body: bytes, what: str) -> None:
    with pytest.raises(UnexpectedAnswerError) as info:
        decode_json(_answer(body, "application/json"), endpoint="bulk status", fields=STATUS)
    assert f"The bulk status answer (200, application/json) was {what}." in str(info.value)
    assert info.value.endpoint == "bulk status" and info.value.status == 200
    assert info.value.body_start == body.decode()


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"{}", "a JSON object where an array belongs"),
        (b'[{"id": "00O1"}, 7]', "an array whose item 1 is a JSON number where an object belongs"),
        (b'[{"name": "x"}]', "item 0 without 'id' (keys: name)"),
        (b'[{"id": "00O1", "name": 3}]', "item 0 whose 'name' is a JSON number where a string"),
    ],
)
def test_items_refuse_an_array_of_another_shape(body: bytes, what: str) -> None:
    items: Fields = {"id": str, "name": (str, None)}
    with pytest.raises(UnexpectedAnswerError, match=re.escape(f"was {what}")):
        decode_json(_answer(body, "application/json"), endpoint="recent reports", items=items)
    assert decode_json(_answer(b"[]", "application/json"), endpoint="x", items=items) == []


def test_an_error_array_message_is_masked() -> None:
    body = f'[{{"errorCode": "INVALID_SESSION_ID", "message": "bad {TOKEN}"}}]'.encode()
    with pytest.raises(UnexpectedAnswerError) as info:
        decode_json(_answer(body, "application/json"), endpoint="x", expect=dict)
    error = info.value
    assert error.error_code == "INVALID_SESSION_ID"
    assert [t for t in (str(error), error.sf_message or "", error.body_start) if TOKEN in t] == []


# ---- check_csv ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (PAGE, "text/csv"),
        (PAGE, "text/csv; charset=UTF-8"),
        (PAGE.replace(b"\n", b"\r\n"), "text/csv"),  # lineEnding CRLF
        (PAGE, None),  # no Content-Type: the body decides
        (PAGE, "application/octet-stream"),
        (b'"Id","Name"\n', "text/csv"),  # no rows, a header
        (b"", "text/csv"),  # no rows, not even a header
        (b'"Id"\n"001","null"\n', "text/csv"),
    ],
)
def test_check_csv_takes_a_real_page(body: bytes, content_type: str | None) -> None:
    check_csv(_answer(body, content_type), Body(body), endpoint=ENDPOINT)


LOGIN = b"<!DOCTYPE html><html><head><title>Login | Salesforce</title></head></html>"


@pytest.mark.parametrize(
    ("body", "content_type", "what"),
    [
        (LOGIN, "text/html;charset=UTF-8", "an HTML page"),
        (b"\n  " + LOGIN, "text/csv", "an HTML page"),
        (b"null", "text/csv", "a JSON null"),
        (b" null\n", "text/csv", "a JSON null"),
        (b"true", "text/csv", "a JSON boolean where CSV belongs"),
        (b'{"records": []}', "text/csv", "a JSON object where CSV belongs"),
        (b"[1, 2]", "text/csv", "a JSON array where CSV belongs"),
        (b'[{"errorCode":"UNKNOWN_EXCEPTION","message":"boom"}]', "text/csv", "an error array (UNKNOWN_EXCEPTION: boom)"),
        (b'{"records": [', "text/csv", "a body that is neither CSV nor JSON"),
        (PAGE, "application/json;charset=UTF-8", "a application/json body where CSV belongs"),
        (PAGE, "text/javascript", "a text/javascript body where CSV belongs"),
        (PAGE[:-1], "text/csv", "a CSV page cut short (its last row has no line ending)"),
        (PAGE[:-5], "text/csv", "a CSV page cut short"),
        (b'"Id","Na', "text/csv", "a CSV page cut short"),
    ],
)  # fmt: skip
def test_check_csv_refuses_what_is_not_a_page(body: bytes, content_type: str, what: str) -> None:
    with pytest.raises(UnexpectedAnswerError) as info:
        check_csv(_answer(b"", content_type), Body(body), endpoint=ENDPOINT)
    error = info.value
    assert f"The {ENDPOINT} answer (200, {content_type}) was {what}" in str(error)
    assert (error.endpoint, error.status, error.content_type) == (ENDPOINT, 200, content_type)
    assert error.url == ENDPOINT.removeprefix("GET ")
    assert error.body_start == " ".join(body.decode().split())[:200]  # the streamed body's
    assert error.__context__ is None


def test_check_csv_masks_a_token_in_the_body() -> None:
    body = f"<html><body>session {TOKEN} expired</body></html>".encode()
    with pytest.raises(UnexpectedAnswerError) as info:
        check_csv(_answer(b"", "text/html"), body, endpoint=ENDPOINT)
    assert "t0k3n" not in str(info.value) and "t0k3n" not in info.value.body_start


def test_check_csv_reads_no_more_than_the_ends_of_a_page() -> None:
    """The check costs the same for a page of 1 row and one of a million (no per-row work)."""

    touched: list[Any] = []

    class Ends(Body):
        def __getitem__(self, key: Any) -> Any:
            touched.append(key)
            return super().__getitem__(key)

    big = Ends(b'"Id"\n' + b'"001000000000001AAA"\n' * 100_000)
    check_csv(_answer(b""), big, endpoint=ENDPOINT)
    sizes = [len(range(len(big))[k]) if isinstance(k, slice) else 1 for k in touched]
    assert 0 < sum(sizes) <= 128, touched


def test_a_page_body_shows_only_its_size() -> None:
    assert repr(Body(b'"Id"\n"00D000000000001!AQ"\n')) == "<26 bytes of an answer>"

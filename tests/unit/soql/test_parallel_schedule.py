"""Which pages the parallel pager trusts (``sfnotebook.soql._parallel``): pure, no org."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

from sfnotebook.soql import _parallel

BASE = "/services/data/v68.0/query/01gD0000002HU6KIAW"
PLAN = _parallel.Schedule(BASE, 2000, 5500, 4, f"{BASE}-2000")  # pages at 2000, 4000 (last)


def _page(rows: int, *, total: int = 5500, done: bool = False, next_url: str | None = None) -> Any:
    body: dict[str, Any] = {
        "totalSize": total,
        "done": done,
        "records": [{"Id": i} for i in range(rows)],
    }
    if next_url is not None:
        body["nextRecordsUrl"] = next_url
    return _parallel.COUNTED.decode(orjson.dumps(body))


def test_the_schedule_names_every_page_after_the_first() -> None:
    assert PLAN.offsets() == [2000, 4000]
    assert PLAN.url(2000) == f"{BASE}-2000" and PLAN.url(4000) == f"{BASE}-4000"


@pytest.mark.parametrize(
    ("offset", "page", "verdict"),
    [
        (2000, _page(2000, next_url=f"{BASE}-4000"), (None, True)),
        (4000, _page(1500, done=True), (None, True)),
        # of another size but its own (names its offset plus its rows, or is done): kept
        (2000, _page(1999, next_url=f"{BASE}-3999"), ("1,999 rows where 2,000 were due", True)),
        (4000, _page(1499, done=True), ("1,499 rows where 1,500 were due", True)),
        (2000, _page(2000, done=True), ("done after 4,000 rows", True)),
        # not its own: dropped, asked again in turn
        (2000, _page(1999, next_url=f"{BASE}-4000"), ("its nextRecordsUrl names", False)),
        (2000, _page(2000, next_url=f"{BASE}-3000"), ("its nextRecordsUrl names", False)),
        (2000, _page(2000, next_url="/services/data/v68.0/query/01gOTHER-4000"), ("its nextRecordsUrl names", False)),
        (2000, _page(2000), ("done: false without a nextRecordsUrl", False)),
        (4000, _page(1500, total=5501, done=True), ("totalSize 5,501 where page 1 said 5,500", False)),
    ],
)  # fmt: skip
def test_each_page_is_checked(offset: int, page: Any, verdict: tuple[str | None, bool]) -> None:
    why, keep = PLAN.check(offset, page)
    assert keep == verdict[1]
    assert why == verdict[0] if why is None or verdict[0] is None else why.startswith(verdict[0])


class _Org:
    output = "pandas"


@pytest.mark.parametrize(
    ("next_url", "rows", "total", "concurrency", "planned"),
    [
        (f"{BASE}-2000", 2000, 9000, 4, True),
        (f"{BASE}-2000", 2000, 9000, 1, False),  # one at a time, as asked
        (f"{BASE}-2000", 2000, 4000, 4, False),  # one page left: nothing to fetch at once
        (f"{BASE}-1999", 2000, 9000, 4, False),  # the offset is not the rows sent
        ("/services/data/v68.0/query/opaque", 2000, 9000, 4, False),  # no offset to choose
    ],
)
def test_the_schedule_is_made_only_where_offsets_can_be_chosen(
    next_url: str, rows: int, total: int, concurrency: int, planned: bool
) -> None:
    raw = msgspec.json.encode({"totalSize": total, "done": False, "records": [{}] * rows})
    plan = _parallel.schedule(_Org(), raw, next_url, total, concurrency)  # type: ignore[arg-type]
    assert (plan is not None) == planned

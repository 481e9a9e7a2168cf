"""OFFSET queries: the batch size they ask for and the two ways their result is short (D5)."""

from __future__ import annotations

import pytest

from sfnotebook.errors import IncompleteResultError
from sfnotebook.soql._offset import CAP, Window, window


def test_without_offset_nothing_changes() -> None:
    plain = window("SELECT Id FROM Account LIMIT 5000")
    assert plain == Window(5000, None)
    assert plain.batch_size(200) == 200
    plain.check(total=CAP, received=CAP)  # a LIMIT alone is paged as any query
    plain.check(total=7, received=3)  # not this check's business: the caller's count catches it


def test_an_offset_query_asks_for_no_smaller_batch() -> None:
    assert window("SELECT Id FROM Account OFFSET 10").batch_size(200) is None
    assert window("SELECT Id FROM Account OFFSET 10").batch_size(None) is None


@pytest.mark.parametrize(
    ("soql", "total"),
    [
        ("SELECT Id FROM Account LIMIT 100 OFFSET 10", 100),
        ("SELECT Id FROM Account OFFSET 10", 1999),  # under the cap: the exact count
        ("SELECT Id FROM Account LIMIT 2000 OFFSET 10", CAP),  # the query wants no more
        ("SELECT Id FROM Account LIMIT 1500 OFFSET 2000", 1500),
        ("SELECT Id FROM Account OFFSET 10", 4990),  # an org that pages OFFSET queries
        ("SELECT Id FROM Account LIMIT 5000 OFFSET 10", 4990),
    ],
)
def test_complete_offset_results_pass(soql: str, total: int) -> None:
    window(soql).check(total=total, received=total)


@pytest.mark.parametrize(
    "soql", ["SELECT Id FROM Account OFFSET 0", "SELECT Id FROM Account LIMIT 5000 OFFSET 10"]
)
def test_a_total_at_the_cap_may_be_the_cap(soql: str) -> None:
    with pytest.raises(IncompleteResultError, match="rows past them may exist") as info:
        window(soql).check(total=CAP, received=CAP)
    assert "LIMIT 2000" in str(info.value) and info.value.received == CAP


def test_only_the_first_batch_is_short() -> None:
    with pytest.raises(IncompleteResultError, match="only the first batch") as info:
        window("SELECT Id FROM Account LIMIT 1500 OFFSET 10").check(total=1500, received=200)
    assert (info.value.expected, info.value.received) == (1500, 200)

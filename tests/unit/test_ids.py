"""The client's own 15 -> 18 character Id conversion (report ``id`` cells, fidelity-audit D16)."""

from __future__ import annotations

import random
import string

import pytest

from sfnotebook._ids import to_18, widen_id
from sfnotebook.dtypes import read_cells


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        # Salesforce help, CASESAFEID: "CASESAFEID('001xx000003DHur') returns ...AAG"
        ("001xx000003DHur", "001xx000003DHurAAG"),
        # Report Error Codes page: "an ID that is 15 or 18 characters long, such as ...
        # 005U0000000Rg2CIAS"
        ("005U0000000Rg2C", "005U0000000Rg2CIAS"),
        # The worked example published with the algorithm (chunk bits, "A".."Z0".."5")
        ("500x000000003TR", "500x000000003TRAAY"),
        # every bit of a chunk, each suffix character's range
        ("000000000000000", "000000000000000AAA"),
        ("ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNO555"),
        ("AaaAABbbBBCccCC", "AaaAABbbBBCccCCZZZ"),
        ("AAaAAbbBBBCcCCC", "AAaAAbbBBBCcCCC123"),
        ("A0000B0000C0000", "A0000B0000C0000BBB"),
        ("0000A0000A0000A", "0000A0000A0000AQQQ"),
    ],
)
def test_known_ids(id15: str, id18: str) -> None:
    assert to_18(id15) == id18
    assert widen_id(id15) == id18
    assert widen_id(id18) == id18  # already 18: unchanged


def test_the_suffix_tells_case_apart() -> None:
    assert to_18("001A0000006Vm9r")[15:] != to_18("001a0000006vm9r")[15:]


@pytest.mark.parametrize(
    "bad", ["", "001", "001A0000006Vm9rIAC", "001A0000006Vm9-", "001Ä000006Vm9rx"]
)
def test_to_18_needs_15_letters_and_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="15 letters and digits"):
        to_18(bad)
    assert widen_id(bad) == bad


def test_agrees_with_the_demo_orgs_independent_implementation() -> None:
    """Two implementations written apart (the demo org's for its ids) agree on random Ids."""
    from sfnotebook_demo.ids import to_18 as demo_to_18

    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits
    for _ in range(2000):
        id15 = "".join(rng.choice(alphabet) for _ in range(15))
        assert to_18(id15) == demo_to_18(id15)


def test_id_report_cells_become_18_characters() -> None:
    cells = [
        {"label": "006Dm0000000001", "value": "006Dm0000000001"},
        {"label": "006Dm0000000002", "value": "006Dm0000000002MAA"},
        {"label": "006Dm0000000003", "value": None},
        {"label": "-", "value": None},
    ]
    _row, array = read_cells(cells, "id")
    assert array.to_pylist() == [
        to_18("006Dm0000000001"),
        "006Dm0000000002MAA",
        to_18("006Dm0000000003"),
        None,
    ]

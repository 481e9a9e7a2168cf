"""Record ids of the demo org: Salesforce's case-safe suffix and the id generator."""

from __future__ import annotations

import pytest

from sfnotebook_demo.data.schema import SCHEMA
from sfnotebook_demo.ids import case_safe_suffix, make_id, restore_case, to_18


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        # Worked examples published with the algorithm (chunk bits -> "A".."Z0".."5").
        ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),
        ("0019000000B98de", "0019000000B98deAAB"),
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
        ("000000000000000", "000000000000000AAA"),
        ("ZZZZZZZZZZZZZZZ", "ZZZZZZZZZZZZZZZ555"),
        ("zzzzzzzzzzzzzzz", "zzzzzzzzzzzzzzzAAA"),
        ("A0000B0000C0000", "A0000B0000C0000BBB"),
        ("0000A0000A0000A", "0000A0000A0000AQQQ"),
    ],
)
def test_known_ids(id15: str, id18: str) -> None:
    assert to_18(id15) == id18


def test_suffix_distinguishes_case() -> None:
    assert case_safe_suffix("001A0000006Vm9r") != case_safe_suffix("001a0000006vm9r")


@pytest.mark.parametrize("bad", ["", "001", "001A0000006Vm9rIAC"])
def test_suffix_needs_15_characters(bad: str) -> None:
    with pytest.raises(ValueError, match="15-character"):
        case_safe_suffix(bad)


def test_make_id_is_valid_unique_and_ordered() -> None:
    numbers = [*range(3000), 10**6 - 1, 10**6, 62**5]
    ids = [make_id("006", n) for n in numbers]
    assert all(len(i) == 18 and i.startswith("006") for i in ids)
    assert all(i[15:] == case_safe_suffix(i[:15]) for i in ids)
    assert len(set(ids)) == len(ids)
    assert len({i.lower() for i in ids}) == len(ids)  # unique even case-insensitively
    assert [i[:15] for i in ids] == sorted(i[:15] for i in ids)  # binary order = creation
    assert any(c.isupper() for i in ids for c in i[6:15])
    assert any(c.islower() for i in ids for c in i[6:15])


def test_key_prefixes() -> None:
    prefixes = {name: o.key_prefix for name, o in SCHEMA.items()}
    assert prefixes == {
        "User": "005",
        "Account": "001",
        "Contact": "003",
        "Opportunity": "006",
        "Case": "500",
        "Task": "00T",
        "Report": "00O",
        "PermissionSet": "0PS",
        "PermissionSetAssignment": "0Pa",
    }


def test_restore_case() -> None:
    for n in (0, 1, 77, 10**6):
        record_id = make_id("001", n)
        assert restore_case(record_id.lower()) == record_id
        assert restore_case(record_id.upper()) == record_id
    assert restore_case("short") == "short"
    assert restore_case("001dm0000aukyoa!!!") == "001dm0000aukyoa!!!"

"""records_frame and FrameBuilder on payloads shaped like the REST API's (our own fixtures,
modelled on recorded real responses: pretty-printed, nulls explicit, nested ``attributes``)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import sfnotebook
from sfnotebook.soql._frames import FrameBuilder, Layout
from sfnotebook.soql.records import QueryResult, records_frame

STRING = pd.StringDtype("pyarrow")
V = "/services/data/v68.0/sobjects"


def attrs(sobject: str, record_id: str | None = None) -> dict[str, str]:
    out = {"type": sobject}
    if record_id:
        out["url"] = f"{V}/{sobject}/{record_id}"
    return out


def contact(n: int, account: dict[str, Any] | None) -> dict[str, Any]:
    cid = f"003Dm0000000{n:03d}AAA"
    return {"attributes": attrs("Contact", cid), "Id": cid, "LastName": f"Last {n}",
            "Account": account}  # fmt: skip


def account(name: str, owner: str | None) -> dict[str, Any]:
    return {
        "attributes": attrs("Account", "001Dm0000000001AAA"),
        "Name": name,
        "Owner": None if owner is None else {"attributes": attrs("User", "005Dm0000000001AAA"),
                                             "Name": owner},
    }  # fmt: skip


# --------------------------------------------------------------------------- parents


def test_parent_paths_flatten_with_dots_and_attributes_go() -> None:
    frame = records_frame([contact(1, account("Acme", "Ada")), contact(2, account("Beta", None))])
    assert list(frame.columns) == ["Id", "LastName", "Account.Name", "Account.Owner.Name"]
    assert frame["Account.Owner.Name"].tolist()[0] == "Ada"
    assert pd.isna(frame["Account.Owner.Name"][1])
    assert not any("attributes" in c for c in frame.columns)


def test_null_parent_on_every_row_keeps_typed_columns() -> None:
    records = [contact(1, None), contact(2, None)]
    frame = records_frame(
        records,
        columns=["Id", "Account.Name", "Account.CreatedDate"],
        describe={"Id": "id", "Account.Name": "string", "Account.CreatedDate": "datetime"},
    )
    assert list(frame.columns) == ["Id", "Account.Name", "Account.CreatedDate"]
    assert frame["Account.Name"].dtype == STRING
    assert frame["Account.CreatedDate"].dtype == pd.DatetimeTZDtype("ns", "UTC")
    assert frame["Account.Name"].isna().all()


def test_columns_follow_select_order_not_key_order() -> None:
    frame = records_frame(
        [contact(1, account("Acme", "Ada"))], columns=["Account.Owner.Name", "Id", "Account.Name"]
    )
    assert list(frame.columns) == ["Account.Owner.Name", "Id", "Account.Name"]


def test_columns_match_keys_case_insensitively_and_use_schema_case() -> None:
    frame = records_frame([contact(1, account("Acme", "Ada"))], columns=["id", "account.name"])
    assert list(frame.columns) == ["Id", "Account.Name"]


def test_describe_of_objects_types_parent_paths() -> None:
    describes = {
        "Contact": {"name": "Contact", "fields": [
            {"name": "Id", "type": "id"}, {"name": "LastName", "type": "string"},
            {"name": "AccountId", "type": "reference", "relationshipName": "Account",
             "referenceTo": ["Account"]}]},
        "Account": {"name": "Account", "fields": [
            {"name": "Name", "type": "string"},
            {"name": "OwnerId", "type": "reference", "relationshipName": "Owner",
             "referenceTo": ["User"]}]},
        "User": {"name": "User", "fields": [{"name": "Name", "type": "string"}]},
    }  # fmt: skip
    frame = records_frame([contact(1, None)], describe=describes,
                          columns=["Id", "Account.Owner.Name"])  # fmt: skip
    assert frame["Account.Owner.Name"].dtype == STRING


# --------------------------------------------------------------------------- types


OPPORTUNITY = {
    "attributes": attrs("Opportunity", "006Dm0000000001AAA"),
    "Id": "006Dm0000000001AAA",
    "Amount": 1200000.5,
    "Probability": 10,
    "IsWon": False,
    "CloseDate": "2024-01-31",
    "CreatedDate": "2024-01-31T18:25:43.000+0000",
    "Zip__c": "02134",
    "Qty__c": 3,
}


def test_types_are_inferred_from_salesforce_shapes_without_describe() -> None:
    frame = records_frame([OPPORTUNITY, {**OPPORTUNITY, "Amount": None, "Qty__c": None}])
    assert frame.dtypes.to_dict() == {
        "Id": STRING,
        "Amount": pd.Float64Dtype(),
        "Probability": pd.Int64Dtype(),
        "IsWon": pd.BooleanDtype(),
        "CloseDate": np.dtype("datetime64[s]"),
        "CreatedDate": pd.DatetimeTZDtype("ns", "UTC"),
        "Zip__c": STRING,
        "Qty__c": pd.Int64Dtype(),
    }


def test_dtypes_override_wins() -> None:
    frame = records_frame([OPPORTUNITY], dtypes={"Amount": "float64", "Qty__c": "float64"})
    assert frame["Amount"].dtype == np.dtype("float64")
    with pytest.raises(KeyError):
        records_frame([OPPORTUNITY], dtypes={"Amont": "float64"})


# --------------------------------------------------------------------------- compound, TYPEOF


def test_address_is_flattened_with_typed_parts() -> None:
    address = {"city": "Paris", "country": "France", "geocodeAccuracy": None, "latitude": None,
               "longitude": 2.35, "postalCode": "75001", "state": None, "street": "1 Rue X"}  # fmt: skip
    records = [
        {"attributes": attrs("Account", "001A"), "Name": "A", "BillingAddress": address},
        {"attributes": attrs("Account", "001B"), "Name": "B", "BillingAddress": None},
    ]
    frame = records_frame(records)
    assert list(frame.columns)[:4] == ["Name", "BillingAddress.street", "BillingAddress.city",
                                       "BillingAddress.state"]  # fmt: skip
    assert frame["BillingAddress.latitude"].dtype == pd.Float64Dtype()
    assert frame["BillingAddress.postalCode"].tolist()[0] == "75001"
    assert frame.loc[1].drop("Name").isna().all()


def test_typeof_flattens_branches_and_names_the_type() -> None:
    who = {"attributes": attrs("Contact", "003A"), "LastName": "Doe", "Email": None}
    records = [
        {"attributes": attrs("Event", "00UA"), "Id": "00UA", "Who": who, "What": None},
        {"attributes": attrs("Event", "00UB"), "Id": "00UB", "Who": who,
         "What": {"attributes": attrs("Account", "001A"), "Name": "Acme", "Phone": "1"}},
        {"attributes": attrs("Event", "00UC"), "Id": "00UC", "Who": None,
         "What": {"attributes": attrs("Opportunity", "006A"), "Amount": 5.0, "Name": "Deal"}},
    ]  # fmt: skip
    frame = records_frame(records)
    assert list(frame.columns) == [
        "Id", "Who.LastName", "Who.Email",
        "What.attributes.type", "What.Name", "What.Phone", "What.Amount",
    ]  # fmt: skip
    assert frame["What.attributes.type"].tolist()[1:] == ["Account", "Opportunity"]
    assert frame["What.Amount"].dtype == pd.Float64Dtype()


# --------------------------------------------------------------------------- children


def children_result(n: int, start: int = 0, done: bool = True) -> dict[str, Any] | None:
    if n == 0:
        return None
    return {"totalSize": n, "done": done,
            "records": [{"attributes": attrs("Contact", f"003C{i}"), "Id": f"003C{i}",
                         "LastName": f"L{i}"} for i in range(start, start + n)]}  # fmt: skip


ACCOUNTS = [
    {"attributes": attrs("Account", "001A"), "Id": "001A", "Name": "A", "Contacts": children_result(2)},
    {"attributes": attrs("Account", "001B"), "Id": "001B", "Name": "B", "Contacts": None},
    {"attributes": attrs("Account", "001C"), "Id": "001C", "Name": "C",
     "Contacts": children_result(1, start=5)},
]  # fmt: skip


def test_child_subquery_gives_a_tidy_frame_keyed_by_parent_id() -> None:
    result = records_frame(ACCOUNTS)
    assert isinstance(result, QueryResult)
    assert list(result.frame.columns) == ["Id", "Name"]
    contacts = result["contacts"]
    assert list(contacts.columns) == ["AccountId", "Id", "LastName"]
    assert contacts["AccountId"].tolist() == ["001A", "001A", "001C"]
    parents, kids = result
    assert parents is result.frame and kids["Contacts"] is contacts
    assert "Contacts: 3 rows" in repr(result)
    assert "<ul>" in result._repr_html_()


def test_child_frame_keyed_by_attributes_url_when_id_not_selected() -> None:
    records = [{k: v for k, v in r.items() if k != "Id"} for r in ACCOUNTS]
    assert records_frame(records)["Contacts"]["AccountId"].tolist() == ["001A", "001A", "001C"]


def test_children_drop_returns_the_parent_frame() -> None:
    frame = records_frame(ACCOUNTS, children="drop")
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["Id", "Name"]


def test_paginated_child_result_is_extended_in_place() -> None:
    first = children_result(2, done=False)
    assert first is not None
    first["totalSize"] = 3
    first["nextRecordsUrl"] = "/services/data/v68.0/query/01gA-2"
    records = [{"attributes": attrs("Account", "001A"), "Id": "001A", "Contacts": first}]
    builder = FrameBuilder(Layout(("Id",), {"Id": "id"}, {"Contacts": Layout(("Id", "LastName"))},
                                  "Account"))  # fmt: skip
    [(rel, result)] = builder.pending_children(records)
    assert builder.child_next_url(result) == first["nextRecordsUrl"]
    more = {"totalSize": 3, "done": True, "records": children_result(1, start=2)["records"]}  # type: ignore[index]
    builder.extend_child(rel, result, json.dumps(more).encode())
    assert builder.pending_children(records) == []
    builder.add(records)
    out = builder.result()
    assert isinstance(out, QueryResult)
    assert out["Contacts"]["Id"].tolist() == ["003C0", "003C1", "003C2"]


# --------------------------------------------------------------------------- aggregates, empty


def test_aggregate_result_with_null_group_and_mixed_number_forms() -> None:
    records = [
        {"attributes": {"type": "AggregateResult"}, "CampaignId": "701A", "expr0": 300.0},
        {"attributes": {"type": "AggregateResult"}, "CampaignId": None, "expr0": 400},
    ]
    frame = records_frame(records, describe={"CampaignId": "reference", "expr0": "int"})
    assert list(frame.columns) == ["CampaignId", "expr0"]
    assert frame["expr0"].dtype == pd.Int64Dtype()
    assert frame["expr0"].tolist() == [300, 400]


def test_count_style_aggregate_single_row() -> None:
    frame = records_frame([{"attributes": {"type": "AggregateResult"}, "expr0": 6}])
    assert frame["expr0"].tolist() == [6] and frame["expr0"].dtype == pd.Int64Dtype()


def test_empty_result_has_columns_and_dtypes() -> None:
    frame = records_frame([], columns=["Id", "Amount", "CloseDate"],
                          describe={"Id": "id", "Amount": "currency", "CloseDate": "date"})  # fmt: skip
    assert len(frame) == 0
    assert frame.dtypes.tolist() == [STRING, pd.Float64Dtype(), np.dtype("datetime64[s]")]


def test_empty_result_without_columns_is_an_empty_frame() -> None:
    frame = records_frame([])
    assert frame.shape == (0, 0)


def test_public_records_frame_is_the_same_function() -> None:
    frame = sfnotebook.records_frame([OPPORTUNITY])
    assert frame["Amount"].tolist() == [1200000.5]


# --------------------------------------------------------------------------- typed decoding


PAGE_LAYOUT = Layout(
    ("Id", "Amount", "CloseDate", "Account.Name", "Account.Owner.Name"),
    {"Id": "id", "Amount": "currency", "CloseDate": "date", "Account.Name": "string",
     "Account.Owner.Name": "string"},
    {},
    "Opportunity",
)  # fmt: skip


def page_bytes(records: list[dict[str, Any]], *, indent: int | None = 2) -> bytes:
    body = {"totalSize": len(records), "done": True, "records": records}
    return json.dumps(body, indent=indent, separators=(",", " : ") if indent else None).encode()


def opportunity(n: int, acct: dict[str, Any] | None) -> dict[str, Any]:
    return {"attributes": attrs("Opportunity", f"006{n}"), "Id": f"006{n}",
            "Amount": None if n % 3 == 0 else n * 1.5, "CloseDate": "2024-03-01",
            "Account": acct}  # fmt: skip


def test_typed_decoding_matches_the_dict_path() -> None:
    records = [opportunity(n, account(f"A{n}", None if n % 2 else "Ada") if n % 4 else None)
               for n in range(1, 40)]  # fmt: skip
    typed = FrameBuilder(PAGE_LAYOUT)
    page = typed.decode(page_bytes(records))
    assert page.total_size == 39 and page.done and page.next_url is None
    assert not isinstance(page.records[0], dict)  # structs, not dicts
    typed.add(page.records)
    plain = FrameBuilder(PAGE_LAYOUT)
    plain.add(records)
    pd.testing.assert_frame_equal(typed.result(), plain.result())


WIDE_LAYOUT = Layout(
    ("Id", "Account.Name", "Account.Industry", "Account.Owner.Name", "Account.Owner.IsActive",
     "Owner.Name", "Account.attributes.type"),
    {"Id": "id", "Account.Name": "string", "Account.Industry": "picklist",
     "Account.Owner.Name": "string", "Account.Owner.IsActive": "boolean", "Owner.Name": "string",
     "Account.attributes.type": "string"},
    {},
    "Opportunity",
)  # fmt: skip


def wide(n: int, acct: bool, acct_owner: bool, owner: bool) -> dict[str, Any]:
    user = {"attributes": attrs("User", "005A"), "Name": f"U{n}", "IsActive": n % 2 == 0}
    return {
        "attributes": attrs("Opportunity", f"006{n}"), "Id": f"006{n}",
        "Account": {"attributes": attrs("Account", "001A"), "Name": f"A{n}",
                    "Industry": None if n % 5 == 0 else "Energy",
                    "Owner": user if acct_owner else None} if acct else None,
        "Owner": {"attributes": attrs("User", "005B"), "Name": f"O{n}"} if owner else None,
    }  # fmt: skip


@pytest.mark.parametrize(
    "nulls",
    [
        pytest.param(lambda n: (True, True, True), id="no-null-parent"),
        pytest.param(lambda n: (False, False, False), id="every-parent-null"),
        pytest.param(lambda n: (n % 3 > 0, n % 2 == 0, n % 4 > 0), id="mixed"),
        pytest.param(lambda n: (True, n > 0, n > 0), id="first-row-only-null"),
    ],
)
def test_typed_columns_of_every_parent_level_match_the_dict_path(nulls: Any) -> None:
    """Levels of one field (Owner) and of several (Account, Account.Owner), null or not."""
    records = [wide(n, *nulls(n)) for n in range(12)]
    typed = FrameBuilder(WIDE_LAYOUT)
    page = typed.decode(page_bytes(records, indent=None))
    assert not isinstance(page.records[0], dict)
    typed.add(page.records)
    plain = FrameBuilder(WIDE_LAYOUT)
    plain.add(records)
    pd.testing.assert_frame_equal(typed.result(), plain.result())


@pytest.mark.parametrize("enabled", [True, False])
def test_add_leaves_the_cyclic_gc_as_it_found_it(enabled: bool) -> None:
    import gc

    builder = FrameBuilder(PAGE_LAYOUT)
    bad = [opportunity(1, None)]
    bad[0]["CloseDate"] = "not a date"
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        builder.add(builder.decode(page_bytes([opportunity(1, None)])).records)
        assert gc.isenabled() is enabled
        with pytest.raises(pa.ArrowInvalid):
            builder.add(builder.decode(page_bytes(bad)).records)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def _kind(builder: FrameBuilder, page: Any) -> str:
    first = page.records[0]
    if isinstance(first, dict):
        return "dicts"
    strict = builder._strict
    return "strict" if strict is not None and type(first) is strict.record_type else "tolerant"


def _pages_vs_dicts(layout: Layout, pages: list[list[dict[str, Any]]]) -> list[str]:
    """Convert ``pages`` typed, one by one, and all at once as dicts: the frames must be equal.
    The kind of records each page decoded to."""
    typed, kinds = FrameBuilder(layout), []
    for records in pages:
        page = typed.decode(page_bytes(records, indent=None))
        kinds.append(_kind(typed, page))
        typed.add(page.records)
    plain = FrameBuilder(layout)
    plain.add([r for records in pages for r in records])
    pd.testing.assert_frame_equal(typed.result(), plain.result())
    return kinds


def test_pages_with_every_selected_key_decode_strict() -> None:
    records = [wide(n, n % 3 > 0, n % 2 == 0, n % 4 > 0) for n in range(12)]
    assert _pages_vs_dicts(WIDE_LAYOUT, [records[:6], records[6:]]) == ["strict", "strict"]


def test_a_key_not_in_the_layout_is_skipped_by_the_strict_types() -> None:
    records = [opportunity(n, account(f"A{n}", "Ada")) for n in range(4)]
    for r in records:
        r["Extra__c"] = {"nested": [1, 2]}
        r["Account"]["Phone"] = "555"
    assert _pages_vs_dicts(PAGE_LAYOUT, [records]) == ["strict"]


@pytest.mark.parametrize("where", ["top", "parent", "grandparent"])
def test_a_missing_key_reads_the_page_tolerant_from_then_on(where: str) -> None:
    """A key left out (a TYPEOF branch of another type does that) fits the tolerant types: the
    same frame as dicts, and the pages after it decode tolerant too, even complete ones."""
    pages = [[opportunity(n, account(f"A{n}", "Ada")) for n in range(p * 3, p * 3 + 3)]
             for p in range(3)]  # fmt: skip
    gap = pages[1][1]
    if where == "top":
        del gap["Amount"]
    elif where == "parent":
        del gap["Account"]["Name"]
    else:
        del gap["Account"]["Owner"]["Name"]
    assert _pages_vs_dicts(PAGE_LAYOUT, pages) == ["strict", "tolerant", "tolerant"]


def test_typeof_branches_decode_tolerant_as_dicts_do() -> None:
    layout = Layout(("Id", "What.attributes.type", "What.Name", "What.Phone", "What.Amount"),
                    {"Id": "id", "What.Name": "string", "What.Phone": "phone",
                     "What.Amount": "currency", "What.attributes.type": "string"},
                    {}, "Event")  # fmt: skip
    records = [
        {"attributes": attrs("Event", "00UA"), "Id": "00UA", "What": None},
        {"attributes": attrs("Event", "00UB"), "Id": "00UB",
         "What": {"attributes": attrs("Account", "001A"), "Name": "Acme", "Phone": "1"}},
        {"attributes": attrs("Event", "00UC"), "Id": "00UC",
         "What": {"attributes": attrs("Opportunity", "006A"), "Amount": 5.0, "Name": "Deal"}},
    ]  # fmt: skip
    assert _pages_vs_dicts(layout, [records[:1], records[1:]]) == ["strict", "tolerant"]


def test_compound_parts_may_be_missing_under_the_strict_types() -> None:
    parts = ("street", "city", "latitude")
    layout = Layout(("Name", *(f"BillingAddress.{p}" for p in parts)),
                    {"Name": "string", "BillingAddress.street": "string",
                     "BillingAddress.city": "string", "BillingAddress.latitude": "double"},
                    {}, "Account", frozenset({"BillingAddress"}))  # fmt: skip
    records = [
        {"attributes": attrs("Account", "001A"), "Name": "A",
         "BillingAddress": {"city": "Paris", "latitude": 48.8, "country": "France"}},
        {"attributes": attrs("Account", "001B"), "Name": "B", "BillingAddress": None},
        {"attributes": attrs("Account", "001C"), "Name": "C", "BillingAddress": {"street": "1 X"}},
    ]  # fmt: skip
    assert _pages_vs_dicts(layout, [records]) == ["strict"]


def test_child_relationships_decode_tolerant() -> None:
    from sfnotebook.soql._decode import RecordCodec

    layout = Layout(("Id", "Name"), {"Id": "id", "Name": "string"},
                    {"Contacts": Layout(("Id", "LastName"), {"Id": "id", "LastName": "string"})},
                    "Account")  # fmt: skip
    builder = FrameBuilder(layout)
    assert _kind(builder, builder.decode(page_bytes(ACCOUNTS))) == "tolerant"
    kid = RecordCodec(["Id"], {"Id": "id"}, {})
    with pytest.raises(ValueError, match="never strict"):
        RecordCodec(["Id"], {"Id": "id"}, {"Contacts": kid}, strict=True)


def test_unexpected_key_falls_back_to_dicts_without_losing_data() -> None:
    records = [opportunity(1, None)]
    records[0]["amount"] = records[0].pop("Amount")  # another spelling than the layout's
    builder = FrameBuilder(PAGE_LAYOUT)
    page = builder.decode(page_bytes(records, indent=None))
    assert isinstance(page.records[0], dict)
    builder.add(page.records)
    assert builder.result()["amount"].tolist() == [1.5]


def test_typed_decoding_of_children_and_paging() -> None:
    layout = Layout(("Id", "Name"), {"Id": "id", "Name": "string"},
                    {"Contacts": Layout(("Id", "LastName"), {"Id": "id", "LastName": "string"})},
                    "Account")  # fmt: skip
    first = children_result(2, done=False)
    assert first is not None
    first["totalSize"], first["nextRecordsUrl"] = 3, "/services/data/v68.0/query/01gB-2"
    records = [{**ACCOUNTS[0], "Contacts": first}, ACCOUNTS[1]]
    builder = FrameBuilder(layout)
    page = builder.decode(page_bytes(records))
    [(rel, result)] = builder.pending_children(page.records)
    builder.extend_child(rel, result, page_bytes(children_result(1, start=2)["records"]))  # type: ignore[index]
    builder.add(page.records)
    out = builder.result()
    assert isinstance(out, QueryResult)
    assert out["Contacts"]["Id"].tolist() == ["003C0", "003C1", "003C2"]
    assert out["Contacts"]["AccountId"].tolist() == ["001A"] * 3


def test_dtypes_override_matches_columns_case_insensitively() -> None:
    frame = records_frame([OPPORTUNITY], dtypes={"amount": "float64"})
    assert frame["Amount"].dtype == np.dtype("float64")


def test_dtypes_override_reaches_child_frames() -> None:
    result = records_frame(ACCOUNTS, dtypes={"LastName": "object"})
    assert isinstance(result, QueryResult)
    assert result["Contacts"]["LastName"].dtype == np.dtype(object)


def test_typed_child_frame_keyed_by_attributes_url_when_id_not_selected() -> None:
    layout = Layout(("Name",), {"Name": "string"},
                    {"Contacts": Layout(("Id", "LastName"), {"Id": "id"})}, "Account")  # fmt: skip
    records = [{k: v for k, v in r.items() if k != "Id"} for r in ACCOUNTS]
    builder = FrameBuilder(layout)
    page = builder.decode(page_bytes(records))
    assert not isinstance(page.records[0], dict)
    builder.add(page.records)
    out = builder.result()
    assert isinstance(out, QueryResult)
    assert out["Contacts"]["AccountId"].tolist() == ["001A", "001A", "001C"]


@pytest.mark.parametrize(
    "module",
    ["soql/records", "soql/_frames", "soql/_decode", "dtypes", "_describe_paths", "_soql_parse"],
)
def test_converters_do_no_io(module: str) -> None:
    """The converters import neither HTTP clients nor simple-salesforce (pure functions)."""
    import ast
    from pathlib import Path

    source = Path(sfnotebook.__file__).parent / f"{module}.py"
    names = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0] if node.level == 0 else node.module)
    assert not names & {"requests", "simple_salesforce", "urllib3", "http", "socket"}
    assert not {n for n in names if n.startswith("sfnotebook.") and "connection" in n}

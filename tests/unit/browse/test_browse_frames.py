"""The browse verbs on a fake org: objects, fields, picklists, limits and the describe card.

The payloads are shaped as REST API documents them: the global describe's ``sobjects`` list,
an object describe's ``fields`` (with a dependent picklist whose ``validFor`` is base64 of a
bit set over the controller's values), ``/limits`` and ``/limits/recordCount``.
"""

from __future__ import annotations

import base64
import copy
import json
import pickle
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest

from sfnotebook import browse, errors
from sfnotebook._api import Json
from sfnotebook.browse._describe import SObjectDescribe
from sfnotebook.browse._fields import valid_for
from tests.fakes import FakeOrg


def _bits(*indexes: int, size: int = 3) -> str:
    raw = bytearray(size)
    for i in indexes:
        raw[i // 8] |= 0x80 >> (i % 8)
    return base64.b64encode(bytes(raw)).decode()


def _field(name: str, type_: str, **extra: Any) -> dict[str, Any]:
    base = {
        "name": name,
        "label": name.replace("__c", "").replace("_", " "),
        "type": type_,
        "length": 0,
        "precision": 0,
        "scale": 0,
        "nillable": True,
        "createable": True,
        "updateable": True,
        "unique": False,
        "externalId": False,
        "custom": name.endswith("__c"),
        "calculated": False,
        "calculatedFormula": None,
        "defaultValue": None,
        "defaultValueFormula": None,
        "picklistValues": [],
        "referenceTo": [],
        "relationshipName": None,
        "inlineHelpText": None,
        "controllerName": None,
        "dependentPicklist": False,
        "restrictedPicklist": False,
    }
    base.update(extra)
    return base


def _entry(value: str, *, active: bool = True, default: bool = False, valid: Any = None) -> Any:
    return {
        "active": active,
        "defaultValue": default,
        "label": value.title(),
        "validFor": valid,
        "value": value,
    }


ACCOUNT: dict[str, Any] = {
    "name": "Account",
    "label": "Account",
    "labelPlural": "Accounts",
    "keyPrefix": "001",
    "custom": False,
    "queryable": True,
    "createable": True,
    "updateable": True,
    "deletable": True,
    "searchable": True,
    "childRelationships": [{"childSObject": "Contact"}, {"childSObject": "Case"}],
    "recordTypeInfos": [{"name": "Master"}],
    "fields": [
        _field("Id", "id", length=18, nillable=False, createable=False, updateable=False),
        _field("Name", "string", length=255, nillable=False),
        _field(
            "Region__c",
            "picklist",
            length=255,
            picklistValues=[
                _entry("east", default=True),
                _entry("west"),
                _entry("old", active=False),
            ],
        ),
        _field(
            "City__c",
            "picklist",
            length=255,
            controllerName="Region__c",
            dependentPicklist=True,
            picklistValues=[
                _entry("boston", valid=_bits(0)),
                _entry("seattle", valid=_bits(1)),
                _entry("anywhere", valid=_bits(0, 1, 2)),
            ],
        ),
        _field("Vip__c", "boolean", nillable=False, defaultValue=False, calculated=False, length=0),
        _field(
            "Tier__c",
            "picklist",
            controllerName="Vip__c",
            dependentPicklist=True,
            picklistValues=[_entry("gold", valid=_bits(1)), _entry("basic", valid=_bits(0))],
        ),
        _field(
            "ParentId", "reference", length=18, referenceTo=["Account"], relationshipName="Parent"
        ),
        _field("AnnualRevenue", "currency", precision=18, scale=2),
        _field(
            "Score__c",
            "double",
            precision=5,
            scale=1,
            calculated=True,
            calculatedFormula="AnnualRevenue / 1000",
            createable=False,
            updateable=False,
        ),
        _field("External__c", "string", length=40, unique=True, externalId=True),
    ],
}

GLOBAL = {
    "encoding": "UTF-8",
    "maxBatchSize": 200,
    "sobjects": [
        {"name": n, "label": label, "labelPlural": label + "s", "keyPrefix": prefix,
         "custom": n.endswith("__c"), "queryable": True, "createable": True, "updateable": True,
         "deletable": True, "customSetting": False}
        for n, label, prefix in (
            ("Account", "Account", "001"),
            ("Opportunity", "Opportunity", "006"),
            ("Invoice__c", "Invoice", "a01"),
        )
    ],
}  # fmt: skip

LIMITS = {
    "DailyApiRequests": {"Max": 15000, "Remaining": 14000, "Ant Migration Tool": {"Max": 0}},
    "MassEmail": {"Max": 0, "Remaining": 0},
    "HourlySyncReportRuns": {"Max": 500, "Remaining": 490},
}


class BrowseOrg(FakeOrg):
    """Answers the global describe, /limits and /limits/recordCount; counts every request."""

    def __init__(self, counts: Any = None, **kw: Any) -> None:
        super().__init__(describes={"Account": copy.deepcopy(ACCOUNT)}, **kw)
        self.counts = counts
        self.calls: list[str] = []

    def answer(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None,
        json: Json,
        headers: Mapping[str, str] | None,
    ) -> Any:
        self.calls.append(url)
        if url == "sobjects":
            return GLOBAL
        if url == "limits":
            return LIMITS
        if url == "limits/recordCount":
            if isinstance(self.counts, BaseException):
                return self.counts
            return self.counts
        raise AssertionError(url)


# --------------------------------------------------------------------------- objects


def test_objects_lists_the_global_describe_with_record_counts() -> None:
    org = BrowseOrg(
        counts={"sObjects": [{"count": 12, "name": "Account"}, {"count": 3, "name": "invoice__c"}]}
    )
    frame = browse.objects(org)
    assert org.calls == ["sobjects", "limits/recordCount"]  # two calls in all
    assert list(frame["name"]) == ["Account", "Opportunity", "Invoice__c"]
    assert frame["records"].tolist() == [12, pd.NA, 3]  # not listed: <NA>, never 0
    assert str(frame["records"].dtype) == "Int64" and str(frame["custom"].dtype) == "boolean"
    assert frame["custom"].tolist() == [False, False, True]
    assert "cached count" in frame._repr_html_()
    assert "Objects: 3 objects" in repr(frame)


def test_objects_without_the_permission_lists_no_counts_and_says_why() -> None:
    refused = errors.SalesforceError("no", status=403, error_code="INSUFFICIENT_ACCESS")
    frame = browse.objects(BrowseOrg(counts=refused))
    assert frame["records"].isna().all()
    assert "View Setup and Configuration" in frame._repr_html_()


def test_objects_raises_other_failures_of_the_counts() -> None:
    down = errors.ServerUnavailableError("down", status=503)
    with pytest.raises(errors.ServerUnavailableError):
        browse.objects(BrowseOrg(counts=down))


def test_objects_search_and_no_counts() -> None:
    org = BrowseOrg()
    frame = browse.objects(org, search="INVOI", counts=False)
    assert org.calls == ["sobjects"]
    assert list(frame["name"]) == ["Invoice__c"]
    assert "matching 'INVOI'" in repr(frame)


def test_record_counts_skip_api_versions_before_40() -> None:
    org = BrowseOrg(counts={"sObjects": []})
    org.api_version = "39.0"
    browse.objects(org)
    assert org.calls == ["sobjects"]


def test_a_malformed_count_is_an_unexpected_answer() -> None:
    org = BrowseOrg(counts={"sObjects": [{"name": "Account", "count": "12"}]})
    with pytest.raises(errors.UnexpectedAnswerError, match="whole count"):
        browse.objects(org)


# --------------------------------------------------------------------------- fields


def test_fields_reads_the_describe_into_typed_columns() -> None:
    frame = browse.fields(BrowseOrg(), "account")
    rows = frame.set_index("name")
    assert list(frame.columns[:3]) == ["name", "label", "type"]
    assert rows.loc["Name", "length"] == 255 and pd.isna(rows.loc["AnnualRevenue", "length"])
    assert rows.loc["AnnualRevenue", "precision"] == 18 and rows.loc["AnnualRevenue", "scale"] == 2
    assert pd.isna(rows.loc["Name", "precision"])
    assert rows.loc["Region__c", "picklist_values"] == ["east", "west"]  # active values only
    assert rows.loc["ParentId", "reference_to"] == ["Account"]
    assert rows.loc["ParentId", "relationship_name"] == "Parent"
    assert rows.loc["Score__c", "formula"] == "AnnualRevenue / 1000"
    assert bool(rows.loc["Score__c", "calculated"]) and not bool(rows.loc["Score__c", "createable"])
    assert rows.loc["Vip__c", "default"] == "false"
    assert bool(rows.loc["External__c", "external_id"]) and bool(rows.loc["External__c", "unique"])
    assert rows.loc["City__c", "controller"] == "Region__c"
    assert str(frame["nillable"].dtype) == "boolean" and str(frame["length"].dtype) == "Int64"


def test_fields_display_has_a_caption_and_derived_frames_are_plain() -> None:
    frame = browse.fields(BrowseOrg(), "Account", search="c")
    html = frame._repr_html_()
    assert html.startswith('<div class="sfnotebook-listing">')
    assert "Account: " in html and "matching &#x27;c&#x27;" in html
    assert "org.picklist(&quot;Account&quot;, &quot;Region__c&quot;)" in html
    picked = frame[frame["type"] == "picklist"]
    assert type(picked) is pd.DataFrame  # a caption saying "N fields" does not follow a filter


def test_fields_of_an_unknown_object_raise_the_describe_error() -> None:
    with pytest.raises(errors.NotFoundError):
        browse.fields(BrowseOrg(), "Nope__c")


# --------------------------------------------------------------------------- picklist


def test_picklist_values_labels_active_and_default() -> None:
    frame = browse.picklist(BrowseOrg(), "Account", "region__C")
    assert frame["value"].tolist() == ["east", "west", "old"]
    assert frame["label"].tolist() == ["East", "West", "Old"]
    assert frame["active"].tolist() == [True, True, False]
    assert frame["default"].tolist() == [True, False, False]
    assert "2 active" in repr(frame)
    assert not any(c.startswith("valid_for") for c in frame.columns)


def test_a_dependent_picklist_says_which_controlling_values_allow_each_entry() -> None:
    frame = browse.picklist(BrowseOrg(), "Account", "City__c")
    # Bit i is the controller's i-th value, inactive ones included (describe order).
    assert frame["valid_for_Region__c"].tolist() == [["east"], ["west"], ["east", "west", "old"]]
    assert "depends on Region__c" in repr(frame)


def test_a_checkbox_controller_is_unchecked_then_checked() -> None:
    frame = browse.picklist(BrowseOrg(), "Account", "Tier__c")
    assert frame["valid_for_Vip__c"].tolist() == [["true"], ["false"]]


def test_picklist_of_an_unknown_field_suggests_close_names() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="Did you mean Region__c") as info:
        browse.picklist(BrowseOrg(), "Account", "Regoin__c")
    assert info.value.argument == "field"


def test_picklist_of_a_non_picklist_field_is_refused() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="is a string field, not a picklist"):
        browse.picklist(BrowseOrg(), "Account", "Name")


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [(None, None), ("", None), ("not base64!", None), (_bits(2), ["c"]), (_bits(9), [])],
)
def test_valid_for_decoding(encoded: str | None, expected: list[str] | None) -> None:
    assert valid_for(encoded, ["a", "b", "c"]) == expected


# --------------------------------------------------------------------------- limits


def test_limits_as_a_frame_and_as_salesforce_sent_them() -> None:
    org = BrowseOrg()
    frame = browse.limits(org)
    assert list(frame.columns) == ["name", "max", "remaining", "used", "used_pct"]
    rows = frame.set_index("name")
    assert rows.loc["DailyApiRequests", "used"] == 1000
    assert rows.loc["DailyApiRequests", "used_pct"] == pytest.approx(6.67)
    assert pd.isna(rows.loc["MassEmail", "used_pct"])  # max 0: no share, not a division error
    assert "API requests today: 1,000 of 15,000" in frame._repr_html_()
    raw = browse.limits(org, as_dict=True)
    assert raw["HourlySyncReportRuns"] == {"Max": 500, "Remaining": 490}
    assert org.calls == ["limits", "limits"]


# --------------------------------------------------------------------------- describe card


def test_the_describe_card_is_the_same_dict() -> None:
    card = SObjectDescribe(copy.deepcopy(ACCOUNT))
    assert card == ACCOUNT and isinstance(card, dict)
    assert json.loads(json.dumps(card)) == ACCOUNT
    assert card["fields"][0]["name"] == "Id"
    back = pickle.loads(pickle.dumps(card))  # noqa: S301 - our own bytes
    assert back == ACCOUNT and type(back) is SObjectDescribe


def test_the_describe_card_is_compact() -> None:
    card = SObjectDescribe(copy.deepcopy(ACCOUNT))
    text = repr(card)
    assert text.splitlines()[0] == "<describe Account>"
    assert "Key prefix" in text and "001" in text
    assert "10: 3 picklist, 2 string" in text  # counts of fields by type, most common first
    assert 'org.fields("Account")' in text
    assert len(text) < 600
    html = card._repr_html_()
    assert "Describe: Account" in html and "Child relationships" in html and len(html) < 3000


def test_the_describe_card_never_raises_on_odd_payloads() -> None:
    odd = SObjectDescribe({"name": "<b>X</b>", "fields": "not a list"})
    assert "Fields" in repr(odd)
    assert "<b>X</b>" not in odd._repr_html_()  # escaped


def test_the_browse_wing_and_the_raw_limits_load_no_pandas() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sfnotebook.browse as b\n"
        "from tests.fakes import FakeOrg\n"
        "class Org(FakeOrg):\n"
        "    def answer(self, *a, **k): return {'A': {'Max': 1, 'Remaining': 1}}\n"
        "assert b.limits(Org(), as_dict=True) == {'A': {'Max': 1, 'Remaining': 1}}\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_listings_show_blanks_separators_and_a_gap_in_long_tables() -> None:
    from sfnotebook.browse._listing import listing

    html = browse.fields(BrowseOrg(), "Account", search="date")._repr_html_()
    assert "&lt;NA&gt;" not in html and "<td>[]</td>" not in html
    assert "org.picklist(&quot;Account&quot;, &quot;Region__c&quot;)" in html  # whole describe
    long = listing(pd.DataFrame({"n": pd.array(range(1000, 1100), dtype="Int64")}), "long")
    html = long._repr_html_()
    assert "1,000" in html and "1,099" in html and "…" in html and "1,050" not in html

"""The report catalogue: folder names, owner and dates from SOQL on Report; search; picking
one of several reports of the same name by Id or folder."""

from __future__ import annotations

from typing import Any

import pytest

from sfnotebook.errors import AmbiguousReportError, InvalidArgumentError, ReportNotFoundError
from sfnotebook.reports import reports
from sfnotebook.reports._catalog import resolve
from tests.unit.reports.test_report_paging import ReportOrg, make_rows

CATALOG: list[dict[str, Any]] = [
    {"Id": "00OFAKE00000001EAA", "Name": "Open Pipeline", "FolderName": "Sales Reports",
     "CreatedBy": {"attributes": {"type": "User"}, "Name": "Ann Lee"}, "Format": "Tabular",
     "LastRunDate": "2026-06-03T05:10:02.000+0000",
     "LastModifiedDate": "2024-12-30T00:40:49.000+0000", "Description": "Deals still open"},
    {"Id": "00OFAKE00000002EAA", "Name": "Open Pipeline", "FolderName": "Marketing Reports",
     "CreatedBy": {"attributes": {"type": "User"}, "Name": "Bo Chen"}, "Format": "Tabular",
     "LastRunDate": None, "LastModifiedDate": "2026-02-12T17:16:41.000+0000",
     "Description": None},
    {"Id": "00OFAKE00000003EAA", "Name": "Pipeline by Stage", "DeveloperName": "Pipe_Stage",
     "FolderName": "Sales Reports", "CreatedBy": None, "Format": "Summary",
     "Description": "Amount by stage"},
    {"Id": "00OFAKE00000004EAA", "Name": "Won Deals", "FolderName": "Executive",
     "Format": "Summary", "Description": "closed won, by PIPELINE owner"},
]  # fmt: skip


def test_the_catalogue_holds_folder_names_owner_dates_and_description() -> None:
    frame = reports(ReportOrg(make_rows(1), catalog=CATALOG))
    assert list(frame.columns[:8]) == [
        "name", "id", "folder", "owner", "last_run", "last_modified", "description", "format",
    ]  # fmt: skip
    first = frame.iloc[0]
    assert (first["name"], first["folder"], first["owner"], first["format"]) == (
        "Open Pipeline", "Sales Reports", "Ann Lee", "TABULAR",
    )  # fmt: skip
    assert str(frame["last_run"].dtype).startswith("datetime64") and "UTC" in str(
        frame["last_run"].dtype
    )
    assert first["last_run"].isoformat() == "2026-06-03T05:10:02+00:00"
    assert frame["last_run"].isna().tolist() == [False, True, True, True]
    assert frame["owner"].isna().tolist() == [False, False, True, True]


@pytest.mark.parametrize(
    ("search", "names"),
    [
        ("pipeline", ["Open Pipeline", "Open Pipeline", "Pipeline by Stage", "Won Deals"]),
        ("MARKETING", ["Open Pipeline"]),  # the folder's name
        ("by stage", ["Pipeline by Stage"]),
        ("still open", ["Open Pipeline"]),  # the description
        ("nothing like it", []),
    ],
)
def test_search_is_a_case_insensitive_substring_of_name_folder_description(
    search: str, names: list[str]
) -> None:
    frame = reports(ReportOrg(make_rows(1), catalog=CATALOG), search=search)
    assert frame["name"].tolist() == names
    assert len(frame.columns) == 9


def test_search_must_be_text() -> None:
    with pytest.raises(TypeError, match="search must be a string"):
        reports(ReportOrg(make_rows(1), catalog=CATALOG), search=3)  # type: ignore[arg-type]


def test_an_ambiguous_name_names_each_folder_and_owner_and_how_to_pick() -> None:
    org = ReportOrg(make_rows(1), catalog=CATALOG)
    with pytest.raises(AmbiguousReportError) as info:
        resolve(org, "Open Pipeline")
    text = str(info.value)
    assert "00OFAKE00000001EAA  in folder 'Sales Reports', created by Ann Lee (TABULAR)" in text
    assert "00OFAKE00000002EAA  in folder 'Marketing Reports', created by Bo Chen" in text
    assert "org.report('00OFAKE00000001EAA')" in text
    assert "org.report('Open Pipeline', folder='Sales Reports')" in text
    assert info.value.candidates == ["00OFAKE00000001EAA", "00OFAKE00000002EAA"]


def test_folder_picks_one_of_several_of_the_same_name() -> None:
    org = ReportOrg(make_rows(1), catalog=CATALOG)
    assert resolve(org, "Open Pipeline", folder="marketing reports") == "00OFAKE00000002EAA"
    assert resolve(org, "open pipeline", folder="Sales Reports") == "00OFAKE00000001EAA"
    with pytest.raises(ReportNotFoundError) as info:
        resolve(org, "Open Pipeline", folder="Executive")
    assert "in folder 'Executive'" in str(info.value)
    assert "Reports of that name are in 'Marketing Reports', 'Sales Reports'" in str(info.value)
    with pytest.raises(InvalidArgumentError, match="folder must be a folder's name"):
        resolve(org, "Open Pipeline", folder="")


def test_close_matches_are_listed_once() -> None:
    org = ReportOrg(make_rows(1), catalog=CATALOG)
    with pytest.raises(ReportNotFoundError) as info:
        resolve(org, "Open Pipline")
    assert info.value.close_matches.count("Open Pipeline") == 1
    assert str(info.value).count("'Open Pipeline'") == 1

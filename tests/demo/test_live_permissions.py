"""PermissionSet and PermissionSetAssignment in the demo org: described, read-only, and queried
as ``sfnotebook doctor`` reads the running user's permissions (the parent path
``PermissionSet.PermissionsXxx`` from the assignments)."""

# SOQL below takes the user Id from the org's own token answer, never from input.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.demo.conftest import token_session

V = "/services/data/v68.0"
PERMS = ("PermissionsApiEnabled", "PermissionsViewSetup", "PermissionsRunReports",
         "PermissionsViewAllData")  # fmt: skip


@pytest.fixture(scope="module")
def api(demo_org: Any) -> tuple[requests.Session, str, str]:
    """A session with a token, the org's base URL and the Run As user's Id."""
    session, token = token_session(demo_org)
    return session, demo_org.url, token["id"].rsplit("/", 1)[1]


def _get(api: tuple[requests.Session, str, str], path: str, **params: str) -> Any:
    session, base, _ = api
    resp = session.get(base + V + path, params=params, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _query(api: tuple[requests.Session, str, str], soql: str) -> list[dict[str, Any]]:
    page = _get(api, "/query", q=soql)
    assert page["done"] is True
    return list(page["records"])


def test_the_permission_set_describe(api: tuple[requests.Session, str, str]) -> None:
    body = _get(api, "/sobjects/PermissionSet/describe")
    assert body["keyPrefix"] == "0PS" and body["label"] == "Permission Set"
    assert (body["createable"], body["updateable"], body["deletable"]) == (False, False, False)
    fields = {f["name"]: f for f in body["fields"]}
    for name in ("IsOwnedByProfile", *PERMS, "PermissionsBulkApiHardDelete"):
        assert fields[name]["type"] == "boolean" and fields[name]["nillable"] is False, name
        assert fields[name]["createable"] is False, name
    assert (fields["Name"]["length"], fields["Label"]["length"]) == (80, 80)
    assert fields["PermissionsApiEnabled"]["label"] == "API Enabled"
    profile = fields["ProfileId"]
    assert (profile["type"], profile["referenceTo"], profile["relationshipName"]) == (
        "reference", ["Profile"], "Profile"
    )  # fmt: skip
    assert profile["nillable"] is True
    children = {c["relationshipName"]: c for c in body["childRelationships"]}
    assert children["Assignments"]["childSObject"] == "PermissionSetAssignment"
    assert children["Assignments"]["field"] == "PermissionSetId"


def test_the_assignment_describe(api: tuple[requests.Session, str, str]) -> None:
    body = _get(api, "/sobjects/PermissionSetAssignment/describe")
    assert body["keyPrefix"] == "0Pa" and body["label"] == "Permission Set Assignment"
    assert (body["createable"], body["updateable"], body["deletable"]) == (False, False, False)
    fields = {f["name"]: f for f in body["fields"]}
    refs = {n: (f["referenceTo"], f["relationshipName"], f["nillable"])
            for n, f in fields.items() if f["type"] == "reference"}  # fmt: skip
    assert refs == {
        "AssigneeId": (["User"], "Assignee", False),
        "PermissionSetId": (["PermissionSet"], "PermissionSet", True),
    }
    assert fields["SystemModstamp"]["label"] == "Date Assigned"
    assert "LastModifiedDate" not in fields and "CreatedById" not in fields
    basic = _get(api, "/sobjects/PermissionSetAssignment")  # recent items by Date Assigned
    assert basic["objectDescribe"]["name"] == "PermissionSetAssignment"
    assert basic["recentItems"] and all(r["Id"].startswith("0Pa") for r in basic["recentItems"])
    user = _get(api, "/sobjects/User/describe")
    children = {c["relationshipName"]: c for c in user["childRelationships"]}
    assert children["PermissionSetAssignments"]["field"] == "AssigneeId"


def test_the_doctor_query_reads_the_run_as_users_permissions(
    api: tuple[requests.Session, str, str],
) -> None:
    uid = api[2]
    fields = ", ".join(f"PermissionSet.{p}" for p in PERMS)
    rows = _query(api, f"SELECT {fields} FROM PermissionSetAssignment WHERE AssigneeId = '{uid}'")
    parents = [{k: v for k, v in r["PermissionSet"].items() if k != "attributes"} for r in rows]
    # The profile's owned permission set grants all four; the extra one only API Enabled.
    assert sorted(parents, key=lambda p: sum(p.values())) == [
        {"PermissionsApiEnabled": True, "PermissionsViewSetup": False,
         "PermissionsRunReports": False, "PermissionsViewAllData": False},
        dict.fromkeys(PERMS, True),
    ]  # fmt: skip
    assert all(r["attributes"]["type"] == "PermissionSetAssignment" for r in rows)
    assert all(r["PermissionSet"]["attributes"]["type"] == "PermissionSet" for r in rows)


def test_the_assignments_name_profile_and_extra_sets(
    api: tuple[requests.Session, str, str],
) -> None:
    uid = api[2]
    mine = _query(
        api,
        "SELECT PermissionSet.Name, PermissionSet.IsOwnedByProfile, PermissionSet.ProfileId, "
        "PermissionSet.PermissionsBulkApiHardDelete, Assignee.Username "
        f"FROM PermissionSetAssignment WHERE AssigneeId = '{uid}' ORDER BY Id",
    )
    owned = [(r["PermissionSet"]["IsOwnedByProfile"], r["PermissionSet"]["Name"][:4],
              r["PermissionSet"]["ProfileId"] is None,
              r["PermissionSet"]["PermissionsBulkApiHardDelete"]) for r in mine]  # fmt: skip
    assert owned == [(True, "X00e", False, False), (False, "Bulk", True, True)]
    assert {r["Assignee"]["Username"] for r in mine} == {"integration@sfnotebook-demo.example"}
    # Every other user holds exactly one set: its profile's, which does not enable the API.
    others = _query(
        api,
        "SELECT AssigneeId, PermissionSet.IsOwnedByProfile, PermissionSet.PermissionsApiEnabled "
        f"FROM PermissionSetAssignment WHERE AssigneeId != '{uid}'",
    )
    users = _query(api, f"SELECT Id FROM User WHERE Id != '{uid}'")
    assert sorted(r["AssigneeId"] for r in others) == sorted(u["Id"] for u in users)
    assert {(r["PermissionSet"]["IsOwnedByProfile"], r["PermissionSet"]["PermissionsApiEnabled"])
            for r in others} == {(True, False)}  # fmt: skip

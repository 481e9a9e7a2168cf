"""The demo org's data obeys Salesforce's own rules, asked of the running org through SOQL.

No live record points at a deleted or missing one, every reference of every record (deleted
ones included) names a record that exists, the required fields are filled, and deleting an
account took its contacts, opportunities and activities to the recycle bin with it (visible to
``queryAll`` with ``IsDeleted = true``). The rules: :mod:`sfnotebook_demo.data.integrity`.
Everything comes from the org's own answers (describes, ``/query``, ``/queryAll``), not from
its database file.
"""

# SOQL below is built from the org's own describes, never from input.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

V = "/services/data/v68.0"


class Org:
    """Just enough REST: describes and every page of a SOQL result."""

    def __init__(self, demo: Any) -> None:
        self.demo = demo
        self.session = requests.Session()
        self.session.verify = demo.ca_bundle
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE must not override verify
        resp = self.session.post(
            demo.url + "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": demo.consumer_key,
                "client_secret": demo.consumer_secret,
            },
            timeout=30,
        )
        resp.raise_for_status()
        self.session.headers["Authorization"] = "Bearer " + resp.json()["access_token"]

    def get(self, path: str, **params: str) -> Any:
        resp = self.session.get(self.demo.url + path, params=params, timeout=120)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def records(self, soql: str, *, all_rows: bool = False) -> list[dict[str, Any]]:
        page = self.get(f"{V}/{'queryAll' if all_rows else 'query'}", q=soql)
        out = list(page["records"])
        while not page["done"]:
            page = self.get(page["nextRecordsUrl"])
            out += page["records"]
        assert len(out) == page["totalSize"]
        return out

    def count(self, soql: str, *, all_rows: bool = False) -> int:
        return int(self.get(f"{V}/{'queryAll' if all_rows else 'query'}", q=soql)["totalSize"])


@pytest.fixture(scope="module")
def org(demo_org: Any) -> Iterator[Org]:
    client = Org(demo_org)
    yield client
    client.session.close()


@pytest.fixture(scope="module")
def describes(org: Org) -> dict[str, dict[str, Any]]:
    names = [o["name"] for o in org.get(f"{V}/sobjects")["sobjects"] if o.get("queryable")]
    assert {"Account", "Contact", "Opportunity", "Case", "Task", "User"} <= set(names)
    return {name: org.get(f"{V}/sobjects/{name}/describe") for name in names}


def _references(describe: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [
        (f["name"], list(f["referenceTo"]))
        for f in describe["fields"]
        if f["type"] == "reference" and f["referenceTo"]
    ]


def _inside(describes: dict[str, dict[str, Any]], targets: list[str]) -> tuple[list[str], set[str]]:
    """The targets the org can query, and the key prefixes of those it has no object for.

    Report.OwnerId may name a Folder or the Organization, PermissionSet.ProfileId a Profile:
    objects the demo org does not serve, whose Ids are told apart by their key prefix.
    """
    prefixes = {"Folder": "00l", "Organization": "00D", "Profile": "00e"}
    known = [t for t in targets if t in describes]
    return known, {prefixes[t] for t in targets if t not in describes}


@pytest.fixture(scope="module")
def everything(org: Org, describes: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every row of every object, deleted ones too: Id, IsDeleted and each reference field."""
    rows = {}
    for name, describe in describes.items():
        fields = ["Id", "IsDeleted", *(f for f, _ in _references(describe))]
        rows[name] = org.records(f"SELECT {', '.join(fields)} FROM {name}", all_rows=True)
    return rows


def test_no_live_record_points_at_a_deleted_or_missing_one(
    org: Org, describes: dict[str, dict[str, Any]]
) -> None:
    """Asked as Salesforce would be: a semi-join on the live parents, per reference field."""
    checked = 0
    for name, describe in describes.items():
        for field, targets in _references(describe):
            known, elsewhere = _inside(describes, targets)
            if elsewhere:  # SOQL cannot tell Ids apart by prefix: the next test checks these
                continue
            outside = " AND ".join(f"{field} NOT IN (SELECT Id FROM {t})" for t in known)
            orphans = org.count(f"SELECT COUNT() FROM {name} WHERE {field} != null AND {outside}")
            assert orphans == 0, f"{orphans} live {name} rows with {field} not a live record"
            checked += 1
    assert checked >= 20  # every object's lookups and audit fields


def test_every_reference_names_a_record_that_exists(
    everything: dict[str, list[dict[str, Any]]], describes: dict[str, dict[str, Any]]
) -> None:
    ids = {name: {r["Id"] for r in rows} for name, rows in everything.items()}
    live = {
        name: {r["Id"] for r in rows if not r["IsDeleted"]} for name, rows in everything.items()
    }
    for name, describe in describes.items():
        for field, targets in _references(describe):
            inside, elsewhere = _inside(describes, targets)
            known = set().union(*(ids[t] for t in inside))
            alive = set().union(*(live[t] for t in inside))
            for row in everything[name]:
                value = row[field]
                if value is None or value[:3] in elsewhere:
                    continue
                assert value in known, f"{name} {row['Id']}: {field} {value} exists nowhere"
                if not row["IsDeleted"]:
                    assert value in alive, f"live {name} {row['Id']}: {field} {value} is deleted"


def test_a_deleted_account_took_its_children_to_the_recycle_bin(
    everything: dict[str, list[dict[str, Any]]],
) -> None:
    deleted = {r["Id"] for r in everything["Account"] if r["IsDeleted"]}
    assert deleted, "the dataset has deleted accounts"
    for child, field in (("Contact", "AccountId"), ("Opportunity", "AccountId")):
        theirs = [r for r in everything[child] if r[field] in deleted]
        assert theirs, f"some {child} rows belong to deleted accounts"
        assert all(r["IsDeleted"] for r in theirs), f"a {child} of a deleted account is live"
    tasks = [r for r in everything["Task"] if r["WhatId"] in deleted]
    assert all(r["IsDeleted"] for r in tasks)


def test_accounts_and_contacts_with_live_cases_are_not_deleted(
    everything: dict[str, list[dict[str, Any]]],
) -> None:
    cases = [r for r in everything["Case"] if not r["IsDeleted"]]
    assert cases
    live_accounts = {r["Id"] for r in everything["Account"] if not r["IsDeleted"]}
    live_contacts = {r["Id"] for r in everything["Contact"] if not r["IsDeleted"]}
    assert all(r["AccountId"] in live_accounts for r in cases if r["AccountId"])
    assert all(r["ContactId"] in live_contacts for r in cases if r["ContactId"])


def test_the_counts_agree_between_parents_and_children(org: Org) -> None:
    """What an outside client counted: contacts per live account, summed, are the live
    contacts that have an account."""
    accounts = org.records("SELECT Id, (SELECT Id FROM Contacts) FROM Account")
    per_account = sum(len((a["Contacts"] or {}).get("records", [])) for a in accounts)
    with_account = org.count("SELECT COUNT() FROM Contact WHERE AccountId != null")
    assert per_account == with_account


def test_required_fields_are_filled(org: Org, describes: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for name, describe in describes.items():
        for f in describe["fields"]:
            compound = f["type"] in ("address", "location")
            if f["nillable"] or f["type"] == "boolean" or compound:
                continue
            empty = org.count(f"SELECT COUNT() FROM {name} WHERE {f['name']} = null", all_rows=True)
            assert empty == 0, f"{empty} {name} rows without {f['name']}"
            checked += 1
    assert checked >= 30

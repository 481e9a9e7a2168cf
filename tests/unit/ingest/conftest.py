"""A describe of a Contact-like object (the keys the write checks read), and a fake org."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import FakeOrg


def field(name: str, type_: str = "string", **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name, "type": type_, "length": kw.pop("length", 80 if type_ == "string" else 0),
        "nillable": True, "createable": True, "updateable": True, "defaultedOnCreate": False,
        "externalId": False, "idLookup": False, "restrictedPicklist": False,
        "picklistValues": [], "referenceTo": [], "relationshipName": None,
        "precision": 0, "scale": 0, "digits": 0,
    }  # fmt: skip
    out.update(kw)
    return out


CONTACT: dict[str, Any] = {
    "name": "Contact",
    "keyPrefix": "003",
    "createable": True,
    "updateable": True,
    "deletable": True,
    "fields": [
        field("Id", "id", length=18, nillable=False, createable=False, updateable=False,
              idLookup=True, defaultedOnCreate=True),
        field("LastName", nillable=False),
        field("FirstName", length=40),
        field("Name", length=121, createable=False, updateable=False, nillable=False),
        field("Email", "email", idLookup=True),
        field("Level__c", "picklist", length=255, restrictedPicklist=True,
              picklistValues=[{"value": v, "active": True} for v in ("Primary", "Secondary")]),
        field("LeadSource", "picklist", picklistValues=[{"value": "Web", "active": True}]),
        field("Birthdate", "date"),
        field("Next_Call__c", "datetime"),
        field("Call_Time__c", "time"),
        field("Seats__c", "int", digits=4),
        field("Score__c", "double", precision=5, scale=2),
        field("DoNotCall", "boolean", nillable=False, defaultedOnCreate=True),
        field("AccountId", "reference", length=18, referenceTo=["Account"], relationshipName="Account"),
        field("ReportsToId", "reference", length=18, referenceTo=["Contact"],
              relationshipName="ReportsTo"),
        field("External_Id__c", length=40, externalId=True, idLookup=True, unique=True),
        field("Skills__c", "multipicklist", length=4099, restrictedPicklist=True,
              picklistValues=[{"value": v, "active": True} for v in ("Python", "SQL", "Apex")]),
        field("CreatedDate", "datetime", nillable=False, createable=False, updateable=False,
              defaultedOnCreate=True),
        field("OwnerId", "reference", length=18, nillable=False, defaultedOnCreate=True,
              referenceTo=["User"], relationshipName="Owner"),
    ],
}  # fmt: skip
ACCOUNT: dict[str, Any] = {
    "name": "Account",
    "keyPrefix": "001",
    "fields": [
        field("Id", "id", idLookup=True),
        field("Name"),
        field("Number__c", externalId=True, idLookup=True),
    ],
}
USER: dict[str, Any] = {"name": "User", "keyPrefix": "005", "fields": [field("Id", "id")]}


class NoRequests(FakeOrg):
    """Answers describes only: any other request fails the test."""


@pytest.fixture
def org() -> NoRequests:
    return NoRequests({"Contact": CONTACT, "Account": ACCOUNT, "User": USER})

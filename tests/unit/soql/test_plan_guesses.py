"""Guessed parent describes sent with page 1 (sfnotebook.soql._plan): the table, the walk, and
a wrong guess that never types a column. No server, no timing."""

from __future__ import annotations

import json as json_module
import threading
from typing import Any

import pytest

from sfnotebook import _soql_parse as sp
from sfnotebook import errors, soql
from sfnotebook.soql import _plan
from tests.fakes import FakeOrg

BENCH = (
    "SELECT Id, Name, StageName, Amount, Probability, CloseDate, IsWon, CreatedDate, LeadSource, "
    "Account.Name, Account.Industry, Account.Owner.Name, Owner.Name FROM Opportunity LIMIT 10"
)


def _select(text: str) -> sp.Select:
    select = sp.parse_select(text)
    assert select is not None
    return select


def _ref(relationship: str, *to: str) -> dict[str, Any]:
    return {"name": f"{relationship}Id", "type": "reference", "relationshipName": relationship,
            "referenceTo": list(to)}  # fmt: skip


class Kept:
    """A connection whose kept describes (``_kept_describe``) are the given ones; no org."""

    def __init__(self, *describes: dict[str, Any]) -> None:
        self.kept = {str(d["name"]).lower(): d for d in describes}
        self.asked: list[str] = []

    def _kept_describe(self, sobject: str) -> dict[str, Any] | None:
        self.asked.append(sobject)
        return self.kept.get(sobject.lower())


OPPORTUNITY = {"name": "Opportunity", "fields": [{"name": "Id", "type": "id"},
               _ref("Account", "Account"), _ref("Owner", "User")],
               "childRelationships": [{"relationshipName": "OpportunityLineItems",
                                       "childSObject": "OpportunityLineItem"}]}  # fmt: skip
ACCOUNT = {"name": "Account", "fields": [{"name": "Id", "type": "id"}, _ref("Owner", "User"),
           _ref("Parent", "Account")]}  # fmt: skip


# -- the table ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relationship", "holder", "expected"),
    [
        ("Owner", "Opportunity", "User"),
        ("owner", "Case", "User"),  # Case's Owner may be a Group: only a prefetch
        ("CreatedBy", "Account", "User"),
        ("LASTMODIFIEDBY", "Contact", "User"),
        ("Parent", "Account", "Account"),
        ("parent", "Case", "Case"),
        ("Parent", None, None),  # hangs from an object nobody knows: no guess
        ("Account", "Opportunity", "Account"),
        ("contact", "Case", "Contact"),
        ("Pricebook2", "Opportunity", "Pricebook2"),
        ("product2", "PricebookEntry", "Product2"),
        ("Campaign", "Opportunity", "Campaign"),
        ("Invoice__r", "Opportunity", None),  # custom: never guessed
        ("Account__r", "Invoice__c", None),  # custom, even when named like a standard object
        ("What", "Task", None),  # polymorphic
        ("Who", "Event", None),
        ("ReportsTo", "Contact", None),  # standard, but not named like its object
        ("Accounts", "Contact", None),
    ],
)
def test_the_guess_table(relationship: str, holder: str | None, expected: str | None) -> None:
    assert _plan.guess_parent(relationship, holder) == expected


def test_the_table_names_standard_objects_only() -> None:
    assert all("__" not in name for name in _plan.STANDARD_PARENTS)
    assert {"Account", "Contact", "Opportunity", "User"} <= set(_plan.STANDARD_PARENTS)


# -- the walk ----------------------------------------------------------------------------------


def test_each_path_level_is_guessed_from_the_one_before() -> None:
    assert _plan.early_objects(object(), _select(BENCH)) == ([], ["Account", "User"])
    assert _plan.early_objects(Kept(), _select(BENCH)) == ([], ["Account", "User"])


def test_a_parent_of_the_root_is_the_root_and_is_not_asked_twice() -> None:
    select = _select("SELECT Id, Parent.Name, Parent.Parent.Owner.Name FROM Account")
    assert _plan.early_objects(Kept(), select) == ([], ["User"])


def test_custom_and_polymorphic_relationships_are_not_guessed() -> None:
    select = _select(
        "SELECT Id, What.Name, Who.Name, Invoice__r.Account.Name, Owner.Name FROM Task"
    )
    assert _plan.early_objects(Kept(), select) == ([], ["User"])  # nothing past Invoice__r


def test_guesses_are_capped() -> None:
    many = ", ".join(f"{name}.Name" for name in _plan.STANDARD_PARENTS)
    wide = _select(f"SELECT Id, {many} FROM Task")  # noqa: S608 - names from the table
    _, guessed = _plan.early_objects(Kept(), wide)
    assert guessed == list(_plan.STANDARD_PARENTS[: _plan.GUESSES])
    assert _plan.GUESSES == 6
    _, fewer = _plan.early_objects(Kept(), wide, guesses=2)
    assert fewer == ["Account", "Asset"]


def test_no_guess_where_the_kept_copies_answer_the_path() -> None:
    user = {"name": "User", "fields": [{"name": "Name", "type": "string"}]}
    kept = Kept(OPPORTUNITY, ACCOUNT, user)
    select = _select(f"{BENCH.split(' LIMIT')[0]}")
    assert _plan.early_objects(kept, select) == (["Account", "User"], [])
    assert _plan.kept_objects(kept, select) == ["Account", "User"]


def test_a_guess_goes_on_from_a_kept_copy_of_the_guessed_object() -> None:
    # Opportunity not kept: Account is guessed; Account's kept copy names Owner's object, a
    # guess too (only as sure as the guess of Account).
    select = _select("SELECT Account.Parent.Owner.Name FROM Opportunity")
    kept = Kept(ACCOUNT)
    assert _plan.early_objects(kept, select) == ([], ["Account", "User"])
    assert _plan.kept_objects(kept, select) == []  # without guesses: nothing seen
    # A path the kept copies prove, beside one they do not: User is asked as kept.
    both = _select("SELECT Owner.Name, Account.Owner.Name FROM Opportunity")
    assert _plan.early_objects(Kept(OPPORTUNITY), both) == (["User", "Account"], [])


def test_a_kept_copy_without_the_relationship_is_not_second_guessed() -> None:
    kept = Kept({"name": "Opportunity", "fields": [{"name": "Id", "type": "id"}]})
    assert _plan.early_objects(kept, _select("SELECT Account.Name FROM Opportunity")) == ([], [])


def test_child_subqueries_come_from_kept_copies_only() -> None:
    select = _select("SELECT Id, (SELECT Id FROM OpportunityLineItems) FROM Opportunity")
    assert _plan.early_objects(Kept(OPPORTUNITY), select) == (["OpportunityLineItem"], [])
    assert _plan.early_objects(Kept(), select) == ([], [])


def test_an_unreadable_select_reaches_nothing() -> None:
    assert _plan.early_objects(Kept(OPPORTUNITY), None) == ([], [])


def test_a_failing_prefetch_is_dropped() -> None:
    def describe_of(name: str) -> Any:
        raise errors.ServerUnavailableError("busy", status=503, error_code="SERVER_UNAVAILABLE")

    _plan.prefetch(describe_of, "User")  # raises nothing


# -- a query whose guess is wrong ----------------------------------------------------------------

Q = "/services/data/v68.0/query"

# An object whose relationship named "Account" leads to Business, not Account: the guess asks
# for Account, whose Name is (deliberately) a number; the column must be typed from Business.
DESCRIBES: dict[str, Any] = {
    "invoice": {"name": "Invoice", "fields": [{"name": "Id", "type": "id"},
                _ref("Account", "Business"), _ref("Owner", "Group", "User")],
                "childRelationships": []},
    "business": {"name": "Business", "fields": [{"name": "Name", "type": "string"},
                 {"name": "Opened", "type": "date"}]},
    "account": {"name": "Account", "fields": [{"name": "Name", "type": "int"},
                {"name": "Opened", "type": "string"}]},
    "group": {"name": "Group", "fields": [{"name": "Name", "type": "string"}]},
    "user": {"name": "User", "fields": [{"name": "Name", "type": "string"}]},
}  # fmt: skip

PAGE = {"totalSize": 2, "done": True, "records": [
    {"attributes": {"type": "Invoice"}, "Id": "a01A",
     "Account": {"attributes": {"type": "Business"}, "Name": "42", "Opened": "2024-05-01"},
     "Owner": {"attributes": {"type": "Group"}, "Name": "Queue"}},
    {"attributes": {"type": "Invoice"}, "Id": "a01B", "Account": None,
     "Owner": {"attributes": {"type": "User"}, "Name": "Ann"}},
]}  # fmt: skip


class Org(FakeOrg):
    """Answers page 1; records each describe asked; ``failing`` fails once each."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        super().__init__(DESCRIBES)
        self.asked: list[str] = []
        self.failing = set(failing)
        self.lock = threading.Lock()

    def answer(self, method: str, url: str, *, params: Any, json: Any, headers: Any) -> Any:
        assert url == "query", url
        return json_module.dumps(PAGE).encode()

    def describe(self, sobject: str) -> dict[str, Any]:
        with self.lock:
            self.asked.append(sobject)
            if sobject in self.failing:
                self.failing.discard(sobject)
                raise errors.ServerUnavailableError(
                    "busy", status=503, error_code="SERVER_UNAVAILABLE"
                )
        return super().describe(sobject)


WRONG = "SELECT Id, Account.Name, Account.Opened, Owner.Name FROM Invoice"


def test_a_wrong_guess_is_asked_but_never_types_a_column() -> None:
    org = Org()
    frame = soql.query(org, WRONG)
    assert {"Account", "User"} <= set(org.asked)  # the guesses went out with page 1
    assert "Business" in org.asked and "Group" in org.asked  # what they missed: wave 2
    assert frame.dtypes.astype(str).to_dict() == {
        "Id": "string",
        "Account.Name": "string",  # Business's, not the guessed Account's int
        "Account.Opened": "datetime64[s]",
        "Owner.Name": "string",
    }
    assert frame["Account.Name"].tolist()[0] == "42"


def test_a_wrong_guess_that_fails_does_not_fail_the_query() -> None:
    org = Org(failing=("Account",))
    frame = soql.query(org, WRONG)
    assert org.asked.count("Account") == 1  # the guess, dropped: nobody needed it
    assert str(frame["Account.Name"].dtype) == "string"


def test_a_guessed_describe_that_fails_is_asked_again_where_it_is_needed() -> None:
    org = Org(failing=("User",))
    describe_of = _plan.describer(org)
    _plan.prefetch(describe_of, "User")  # 503: dropped, and not remembered as a failure
    assert describe_of("User") == DESCRIBES["user"]
    assert org.asked == ["User", "User"]

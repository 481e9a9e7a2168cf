"""The exception tree: context is declared per class, one name per meaning."""

from __future__ import annotations

import inspect

import pytest

from sfnotebook import errors

CLASSES = [
    getattr(errors, name)
    for name in errors.__all__
    if isinstance(getattr(errors, name), type)
    and issubclass(getattr(errors, name), errors.SfNotebookError)
]
BASE_CONTEXT = {"message", "status", "error_code", "url"}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_context_is_declared_and_documented(cls: type[errors.SfNotebookError]) -> None:
    params = inspect.signature(cls.__init__).parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), f"{cls.__name__}: **context"
    own = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY} - BASE_CONTEXT
    documented = "\n".join(inspect.getdoc(k) or "" for k in cls.__mro__ if k is not Exception)
    for name in own:
        assert name in documented, f"{cls.__name__}.{name} is not in its Attributes"


def test_unknown_context_is_a_type_error_not_a_silent_attribute() -> None:
    with pytest.raises(TypeError):
        errors.SfNotebookError("x", fetched=3)  # type: ignore[call-arg]


def test_every_completeness_error_says_expected_and_received() -> None:
    for error in (
        errors.IncompleteResultError("x", expected=5, received=4),
        errors.QueryLocatorExpiredError("x", expected=5, received=4),
    ):
        assert (error.expected, error.received) == (5, 4)


AGGREGATE_REFUSAL = (
    "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single "
    "batch"
)


@pytest.mark.parametrize("code", ["EXCEEDED_ID_LIMIT", "A_CODE_NOBODY_DOCUMENTED", None])
def test_the_aggregate_refusal_is_generic_whatever_its_code(code: str | None) -> None:
    """The message is verified, the code (EXCEEDED_ID_LIMIT) is not (fidelity-audit D14)."""
    body = [{"message": AGGREGATE_REFUSAL, **({"errorCode": code} if code else {})}]
    error = errors.error_from_body(400, body, url="/services/data/v68.0/query")
    assert type(error) is errors.SalesforceError
    assert (error.status, error.error_code, error.sf_message) == (400, code, AGGREGATE_REFUSAL)
    assert str(error).startswith("Salesforce answered 400") and AGGREGATE_REFUSAL in str(error)


def test_the_locator_advice_gives_todays_limits() -> None:
    body = [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}]
    text = str(errors.error_from_body(400, body))
    assert "2 days" in text and "no limit on how many are open" in text and "API 56.0" in text


def test_an_offset_past_2000_gets_advice() -> None:
    body = [
        {
            "errorCode": "NUMBER_OUTSIDE_VALID_RANGE",
            "message": "Maximum SOQL offset allowed is 2000",
        }
    ]
    text = str(errors.error_from_body(400, body))
    assert "OFFSET is at most 2,000" in text and "page on a key" in text


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_survives_pickling_with_its_context(cls: type[errors.SfNotebookError]) -> None:
    """A Dask worker's error travels to the client pickled: type, message and context intact."""
    import pickle

    params = inspect.signature(cls.__init__).parameters
    context = {
        n: ["x"]
        if n in {"candidates", "close_matches"}
        else 7
        if n in {"expected", "received"}
        else "x"
        for n, p in params.items()
        if p.kind is p.KEYWORD_ONLY and p.default is p.empty
    }
    error = cls("what happened; what to do", **context)
    error.status = 401
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(back) is cls
    assert str(back) == "what happened; what to do"
    assert vars(back) == vars(error)


# --------------------------------------------------------------------------- the echoed SOQL (issue 14)


def _positioned(
    row: str, column: int, detail: str = "No such column 'Nmae' on entity 'Account'."
) -> str:
    """Salesforce's positioned message (salesforce-api.md 4.1): the row, a caret line of spaces."""
    return f"\n{row}\n{' ' * (column - 1)}^\nERROR at Row:2:Column:{column}\n{detail}"


@pytest.mark.parametrize(
    ("row", "column", "caret"),
    [
        ("SELECT Id, Nmae FROM Account", 12, " " * 11 + "^"),
        ("\tNmae FROM Account", 2, "\t^"),  # a tab in the row: a tab in the caret line
        ("  \t \tNmae, Id", 6, "  \t \t^"),
        ("SELECT\tId,\tNmae", 12, "      \t   \t^"),
    ],
)
def test_the_caret_starts_its_own_line_under_the_column(row: str, column: int, caret: str) -> None:
    body = [{"errorCode": "INVALID_FIELD", "message": _positioned(row, column)}]
    text = str(errors.error_from_body(400, body))
    lines = text.splitlines()
    assert lines[0] == "Salesforce answered 400 INVALID_FIELD:"
    assert lines[1] == row  # the echo starts a line: nothing in front of it
    assert lines[2] == caret
    assert lines[3] == f"ERROR at Row:2:Column:{column}"
    # drawn with any tab width, the caret sits under the column Salesforce names
    for width in (4, 8):
        assert len(lines[2].expandtabs(width)) - 1 == len(row[: column - 1].expandtabs(width))


def test_an_unpositioned_message_stays_on_the_first_line() -> None:
    body = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]
    assert str(errors.error_from_body(401, body)).startswith(
        "Salesforce answered 401 INVALID_SESSION_ID: Session expired or invalid"
    )


def test_a_caret_elsewhere_than_the_column_is_left_as_sent() -> None:
    message = "\nSELECT Nmae FROM Account\n  ^\nERROR at Row:1:Column:8\nNo such column"
    text = str(errors.error_from_body(400, [{"errorCode": "INVALID_FIELD", "message": message}]))
    assert text.splitlines()[2] == "  ^"


def test_the_field_hint_names_sfnotebooks_own_browser() -> None:
    body = [
        {
            "errorCode": "INVALID_FIELD",
            "message": _positioned("Nmae FROM Contact", 1).replace("'Account'", "'Contact'"),
        }
    ]
    text = str(errors.error_from_body(400, body))
    assert 'org.fields("Contact")' in text
    assert "org.sf." not in text


def test_close_matches_default_to_none() -> None:
    body = [{"errorCode": "INVALID_FIELD", "message": "No such column"}]
    error = errors.error_from_body(400, body)
    assert isinstance(error, errors.InvalidFieldError)
    assert error.close_matches == ()


def test_the_hint_helper_picks_the_closest_names() -> None:
    from sfnotebook._hints import close_matches

    assert close_matches("Nmae", ["Id", "Name", "NumberOfEmployees"]) == ["Name"]
    assert close_matches("acount", ["Account", "Contact", "Lead"]) == ["Account"]
    assert close_matches("Zzzzz", ["Id", "Name"]) == []

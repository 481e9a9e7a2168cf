"""The demo org's dataset: sizes, determinism, ids, referential integrity, value formats."""

# Table and column names below come from SCHEMA, not from input.
# ruff: noqa: S608

from __future__ import annotations

import collections
import datetime as dt
import math
import re
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from sfnotebook_demo.data import database as data
from sfnotebook_demo.data import vocabulary
from sfnotebook_demo.data.schema import SCHEMA, STAGES, get_sobject
from sfnotebook_demo.ids import case_safe_suffix
from sfnotebook_demo.reports.defs import FOLDERS, REPORTS

SMALL = {"opportunities": 3000, "accounts": 300, "contacts": 900, "users": 12, "cases": 200,
         "tasks": 600}  # fmt: skip
TODAY = dt.date(2030, 3, 15)  # a build day far from the real one, to tell the two apart

FORMATS = {
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "datetime": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000\+0000$"),
    "time": re.compile(r"^\d{2}:\d{2}:\d{2}\.000Z$"),
    "id": re.compile(r"^[0-9A-Za-z]{18}$"),
    "reference": re.compile(r"^[0-9A-Za-z]{18}$"),
}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> data.Database:
    folder = tmp_path_factory.mktemp("cache")
    return data.Database(data.ensure_database(directory=folder, today=TODAY, **SMALL))


@pytest.fixture(scope="module")
def full() -> data.Database:
    """The default-size dataset from the shared cache (what the demo org serves)."""
    return data.Database(data.ensure_database())


def dump(db: data.Database) -> dict[str, list[tuple[object, ...]]]:
    conn = db.connect()
    return {name: conn.execute(f'SELECT * FROM "{name}" ORDER BY Id').fetchall() for name in SCHEMA}


def test_sizes(small: data.Database) -> None:
    conn = small.connect()
    counts = {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in SCHEMA}
    assert counts == {"User": 12, "Account": 300, "Contact": 900, "Opportunity": 3000,
                      "Case": 200, "Task": 600, "Report": len(REPORTS), "PermissionSet": 3,
                      "PermissionSetAssignment": 13}  # fmt: skip
    meta = small.meta()
    assert meta["build_day"] == "2030-03-15"
    assert meta["rows.Opportunity"] == "3000"


def test_full_sizes_and_deleted_share(full: data.Database) -> None:
    conn = full.connect()
    total, deleted = conn.execute("SELECT COUNT(*), SUM(IsDeleted) FROM Opportunity").fetchone()
    assert total == 50_000
    # About 2% are deleted on their own; those of deleted accounts went with them (integrity).
    cascaded, with_account = conn.execute(
        "SELECT COUNT(*), SUM(o.IsDeleted) FROM Opportunity o JOIN Account a ON a.Id = o.AccountId "
        "WHERE a.IsDeleted = 1"
    ).fetchone()
    assert cascaded > 0 and with_account == cascaded
    assert 0.01 < (deleted - cascaded) / (total - cascaded) < 0.03
    assert conn.execute("SELECT SUM(IsDeleted) FROM User").fetchone()[0] == 0
    for name in ("Account", "Contact", "Case", "Task"):
        assert conn.execute(f'SELECT SUM(IsDeleted) FROM "{name}"').fetchone()[0] > 0, name


def test_same_seed_same_data(small: data.Database, tmp_path: Path) -> None:
    again = data.Database(data.ensure_database(directory=tmp_path, today=TODAY, **SMALL))
    assert again.path != small.path
    assert dump(again) == dump(small)


def test_other_seed_other_data(small: data.Database, tmp_path: Path) -> None:
    other = data.Database(data.ensure_database(directory=tmp_path, today=TODAY, seed=7, **SMALL))
    assert dump(other)["Opportunity"] != dump(small)["Opportunity"]


def _shifted(value: object, days: int) -> object:
    """A date or datetime text ``days`` later; anything else unchanged."""
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}(T|$)", value):
        moved = dt.date.fromisoformat(value[:10]) + dt.timedelta(days=days)
        return moved.isoformat() + value[10:]
    return value


def test_a_later_build_day_moves_every_date_and_nothing_else(
    small: data.Database, tmp_path: Path
) -> None:
    later = data.Database(
        data.ensure_database(directory=tmp_path, today=TODAY + dt.timedelta(days=3), **SMALL)
    )
    before, after = dump(small), dump(later)
    # Computed from CloseDate: they follow it across a quarter's or a year's end.
    derived = {"Opportunity": {"FiscalQuarter", "FiscalYear", "Fiscal"}}
    for name, rows in before.items():
        cols = SCHEMA[name].columns
        keep = [k for k, c in enumerate(cols) if c not in derived.get(name, set())]
        for a, b in zip(rows, after[name], strict=True):
            assert [_shifted(a[k], 3) for k in keep] == [b[k] for k in keep], name


def _won_per_month(db: data.Database, today: dt.date) -> list[int]:
    """Closed Won deals per calendar month over the 24 full months before ``today``'s month."""
    counts = dict(
        db.connect().execute(
            "SELECT substr(CloseDate, 1, 7), COUNT(*) FROM Opportunity "
            "WHERE IsWon = 1 AND IsDeleted = 0 GROUP BY 1"
        )
    )
    months, year, month = [], today.year, today.month
    for _ in range(24):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        months.append(f"{year}-{month:02d}")
    return [counts.get(m, 0) for m in reversed(months)]


def test_won_deals_grow_smoothly_to_last_month(full: data.Database) -> None:
    """A won-per-month chart neither spikes nor collapses (issue 14): counts follow a 30%-a-year
    growth to the month before the build day, every month close to the trend line."""
    today = dt.date.fromisoformat(full.meta()["build_day"])
    counts = _won_per_month(full, today)
    assert sum(counts[12:]) > 1.15 * sum(counts[:12])
    # The least-squares growth line through the log counts: about 30% a year, and every month
    # within 15% of it (Poisson noise on 250-500 deals a month, and 28- to 31-day months).
    slope, intercept = np.polyfit(np.arange(24), np.log(counts), 1)
    assert 1.15 < math.exp(12 * slope) < 1.5, counts
    trend = np.exp(intercept + slope * np.arange(24))
    assert np.all(np.abs(np.array(counts) - trend) <= 0.15 * trend), counts


def test_no_day_but_the_legacy_import_holds_a_pile_of_closed_deals(full: data.Database) -> None:
    """Closing dates are spread: no day carries a cut-off's pile-up, except the one legacy
    import day, whose Closed Lost deals are more than a report run holds (crowded values)."""
    conn = full.connect()
    legacy = full.meta()["legacy_import_day"]
    today = dt.date.fromisoformat(full.meta()["build_day"])
    assert legacy < (today - dt.timedelta(days=3 * 365 + 180)).isoformat()
    (closed,) = conn.execute("SELECT COUNT(*) FROM Opportunity WHERE IsClosed = 1").fetchone()
    (busiest,) = conn.execute(
        "SELECT MAX(n) FROM (SELECT COUNT(*) n FROM Opportunity WHERE IsClosed = 1 "
        "AND CloseDate != ? GROUP BY CloseDate)",
        (legacy,),
    ).fetchone()
    assert busiest < 0.003 * closed
    stages, live = conn.execute(
        "SELECT COUNT(DISTINCT StageName), SUM(1 - IsDeleted) FROM Opportunity WHERE CloseDate = ?",
        (legacy,),
    ).fetchone()
    assert stages == 1 and live > 2000
    # Before the import only the imported deals' own creation dates (kept by the migration).
    (before,) = conn.execute(
        "SELECT COUNT(*) FROM Opportunity WHERE CloseDate < ? OR (CreatedDate < ? AND "
        "CloseDate != ?)",
        (legacy, legacy, legacy),
    ).fetchone()
    assert before == 0


def test_cache_is_reused_and_atomic(small: data.Database) -> None:
    mtime = small.path.stat().st_mtime_ns
    again = data.ensure_database(directory=small.path.parent, today=TODAY, **SMALL)
    assert again == small.path
    assert again.stat().st_mtime_ns == mtime
    assert not list(small.path.parent.glob("*.tmp"))


def test_concurrent_builds_produce_one_file(tmp_path: Path) -> None:
    results: list[Path] = []
    sizes = {**SMALL, "opportunities": 500}

    def build() -> None:
        results.append(data.ensure_database(directory=tmp_path, today=TODAY, **sizes))

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert [p.name for p in tmp_path.glob("*.sqlite")] == [results[0].name]


def test_ids_are_valid_unique_and_typed(full: data.Database) -> None:
    conn = full.connect()
    for name, obj in SCHEMA.items():
        ids = [r[0] for r in conn.execute(f'SELECT Id FROM "{name}"')]
        assert len(set(ids)) == len(ids), name
        assert all(i.startswith(obj.key_prefix) and len(i) == 18 for i in ids), name
        assert all(i[15:] == case_safe_suffix(i[:15]) for i in ids[:2000]), name


# Objects a reference may point to that the demo org has no table for, by key prefix
# (Report.OwnerId is a folder's Id: the reports feature's folders; PermissionSet.ProfileId a
# profile's).
OUTSIDE = {"Folder": "00l", "Organization": "00D", "Profile": "00e"}


def test_references_resolve(full: data.Database) -> None:
    conn = full.connect()
    for name, obj in SCHEMA.items():
        for f in obj.fields:
            if f.type != "reference":
                continue
            known = [t for t in f.reference_to if t in SCHEMA]
            targets = " UNION ALL ".join(f'SELECT Id FROM "{t}"' for t in known)
            outside = [OUTSIDE[t] for t in f.reference_to if t not in SCHEMA]
            elsewhere = "".join(f" AND substr(\"{f.name}\", 1, 3) <> '{p}'" for p in outside)
            dangling = conn.execute(
                f'SELECT COUNT(*) FROM "{name}" WHERE "{f.name}" IS NOT NULL '
                f'AND "{f.name}" NOT IN ({targets}){elsewhere}'
            ).fetchone()[0]
            assert dangling == 0, f"{name}.{f.name}"
    prefixes = {r[0] for r in conn.execute("SELECT DISTINCT substr(WhatId, 1, 3) FROM Task")}
    assert prefixes == {"001", "006", None}


def test_values_match_their_types(full: data.Database) -> None:
    conn = full.connect()
    for name, obj in SCHEMA.items():
        for f in obj.fields:
            if not f.stored:
                continue
            values = [r[0] for r in conn.execute(f'SELECT "{f.name}" FROM "{name}" LIMIT 3000')]
            present = [v for v in values if v is not None]
            label = f"{name}.{f.name}"
            assert "" not in present, label  # Salesforce stores no empty strings
            if f.type in FORMATS:
                assert all(FORMATS[f.type].match(v) for v in present), label
            elif f.type == "boolean":
                assert set(present) <= {0, 1}, label
            elif f.type == "int":
                assert all(type(v) is int for v in present), label
            elif f.type in ("double", "currency", "percent"):
                assert all(isinstance(v, float) for v in present), label
            elif f.type == "picklist":
                assert set(present) <= set(f.picklist_values), label
            elif f.type == "multipicklist":
                assert all(set(v.split(";")) <= set(f.picklist_values) for v in present), label


def test_every_nullable_type_has_nulls_and_values(full: data.Database) -> None:
    conn = full.connect()
    seen: dict[str, set[bool]] = {}
    for name, obj in SCHEMA.items():
        for f in obj.fields:
            if not f.stored:
                continue
            nulls, values = conn.execute(
                f'SELECT SUM("{f.name}" IS NULL), SUM("{f.name}" IS NOT NULL) FROM "{name}"'
            ).fetchone()
            assert values > 0, f"{name}.{f.name} is always null"
            if not f.nillable:
                assert nulls == 0, f"{name}.{f.name} is not nillable"
            elif f.nillable:
                seen.setdefault(f.type, set()).add(bool(nulls))
    types = {t for t, has in seen.items() if True in has}
    assert types >= {"reference", "string", "picklist", "multipicklist", "textarea", "email",
                     "phone", "url", "int", "double", "currency", "percent", "date",
                     "datetime", "time"}  # fmt: skip


def test_opportunity_stages_are_consistent(full: data.Database) -> None:
    rows = full.connect().execute(
        "SELECT DISTINCT StageName, Probability, ForecastCategoryName, IsClosed, IsWon "
        "FROM Opportunity"
    )
    for stage, prob, forecast, closed, won in rows:
        assert STAGES[stage] == (prob, forecast, bool(closed), bool(won))


def test_dates_are_plausible(full: data.Database) -> None:
    conn = full.connect()
    bad = conn.execute(
        "SELECT COUNT(*) FROM Opportunity WHERE CreatedDate > LastModifiedDate "
        "OR LastModifiedDate != SystemModstamp OR (IsClosed = 1 AND CloseDate > ?)",
        (dt.date.today().isoformat(),),
    ).fetchone()[0]
    assert bad == 0
    low, high = conn.execute("SELECT MIN(CloseDate), MAX(CloseDate) FROM Opportunity").fetchone()
    today = dt.date.fromisoformat(full.meta()["build_day"])
    assert low < (today - dt.timedelta(days=2 * 365)).isoformat()
    assert high > (today + dt.timedelta(days=300)).isoformat()
    assert low >= (today - dt.timedelta(days=4 * 366)).isoformat()


def test_recent_rows_sit_around_today(full: data.Database) -> None:
    """SOQL date literals use the real clock: there must be data just before and after now."""
    conn = full.connect()
    today = dt.datetime.now(dt.timezone.utc).date()
    last_30 = (today - dt.timedelta(days=30)).isoformat()
    next_30 = (today + dt.timedelta(days=30)).isoformat()
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM Opportunity WHERE CreatedDate >= ?", (last_30,)
        ).fetchone()[0]
        > 50
    )
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM Opportunity WHERE CloseDate BETWEEN ? AND ?",
            (today.isoformat(), next_30),
        ).fetchone()[0]
        > 50
    )
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM Opportunity WHERE CreatedDate > ?", (today.isoformat() + "T23",)
        ).fetchone()[0]
        == 0
    )


def test_text_has_csv_hazards(full: data.Database) -> None:
    texts = [r[0] for r in full.connect().execute(
        "SELECT DISTINCT Description FROM Opportunity WHERE Description IS NOT NULL")]  # fmt: skip
    assert any('"' in t and "," in t for t in texts)
    assert any("\n" in t and "\r\n" not in t for t in texts)
    assert any("\r\n" in t for t in texts)
    assert any(not t.isascii() for t in texts)
    names = [r[0] for r in full.connect().execute("SELECT Name FROM Account")]
    assert any("," in n for n in names) and any("'" in n for n in names)


def test_account_names_look_like_an_org(full: data.Database) -> None:
    """No run of "Acme Airlines": ordinary names are unique; only the hazard names repeat."""
    from sfnotebook_demo.data.vocabulary import SPECIAL_COMPANIES

    names = [r[0] for r in full.connect().execute("SELECT Name FROM Account")]
    ordinary = [n for n in names if n not in SPECIAL_COMPANIES]
    assert len(set(ordinary)) == len(ordinary)
    assert len(names) - len(ordinary) > len(SPECIAL_COMPANIES)  # the hazards are all there


def test_compound_fields_have_no_column(full: data.Database) -> None:
    cols = [r[1] for r in full.connect().execute("PRAGMA table_info(Account)")]
    assert "BillingAddress" not in cols and "HQ_Location__c" not in cols
    assert {"BillingCity", "BillingLatitude", "HQ_Location__Latitude__s"} <= set(cols)
    assert cols == SCHEMA["Account"].columns


def test_connections_are_per_thread_and_read_only(small: data.Database) -> None:
    mine = small.connect()
    assert small.connect() is mine
    other: list[sqlite3.Connection] = []
    t = threading.Thread(target=lambda: other.append(small.connect()))
    t.start()
    t.join()
    assert other[0] is not mine
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        mine.execute("DELETE FROM Account")
    mine.execute("CREATE TEMP TABLE snapshot AS SELECT Id FROM Account LIMIT 3")
    assert mine.execute("SELECT COUNT(*) FROM snapshot").fetchone()[0] == 3
    mine.execute("DROP TABLE snapshot")


def test_connections_of_finished_threads_are_released(tmp_path: Path) -> None:
    db = data.Database(data.ensure_database(directory=tmp_path, today=TODAY, **SMALL))
    threads = [threading.Thread(target=db.connect) for _ in range(20)]
    for t in threads:
        t.start()
        t.join()
    db.connect()
    assert db.open_connections == 1
    db.close()
    assert db.open_connections == 0
    assert db.connect().execute("SELECT COUNT(*) FROM User").fetchone() == (12,)


def test_schema_lookups_are_case_insensitive() -> None:
    account = get_sobject("aCCOUNT")
    assert account is SCHEMA["Account"]
    field = account.field("billingcity")
    assert field is not None and field.compound_field_name == "BillingAddress"
    parent = account.relationship("PARENT")
    assert parent is not None and parent.name == "ParentId"
    child = account.child("contacts")
    assert child is not None and (child.child_object, child.field) == ("Contact", "AccountId")
    assert account.field("Nope") is None and account.child("Nope") is None
    assert [f.name for f in account.components("billingaddress")][:2] == [
        "BillingStreet", "BillingCity"]  # fmt: skip
    what = SCHEMA["Task"].relationship("what")
    assert what is not None and what.reference_to == ("Account", "Opportunity")
    assert what.polymorphic_foreign_key
    who = SCHEMA["Task"].field("WhoId")
    assert who is not None and who.polymorphic_foreign_key
    case_number = SCHEMA["Case"].field("casenumber")
    assert case_number is not None and case_number.auto_number and case_number.type == "string"


def test_every_describe_type_is_used() -> None:
    types = {f.type for o in SCHEMA.values() for f in o.fields}
    assert types >= {"id", "reference", "string", "picklist", "multipicklist", "textarea",
                     "email", "phone", "url", "boolean", "int", "double", "currency", "percent",
                     "date", "datetime", "time", "address", "location"}  # fmt: skip


def test_the_report_object_holds_the_report_definitions(full: data.Database) -> None:
    conn = full.connect()
    rows = conn.execute(
        'SELECT Id, Name, DeveloperName, FolderName, Format, OwnerId FROM "Report" ORDER BY Id'
    ).fetchall()
    folder_ids = {f.name: f.id for f in FOLDERS.values()}
    assert rows == [
        (r.id, r.name, r.developer_name, r.folder, r.format.capitalize(), folder_ids[r.folder])
        for r in sorted(REPORTS.values(), key=lambda r: r.id)
    ]


def test_account_names_are_varied(full: data.Database) -> None:
    """Names read like an org's (issue 14): all but the deliberate hazards unique, and no
    company repeated under many legal suffixes ("Acme Airlines AG", "... GmbH", "... plc")."""
    names = [r[0] for r in full.connect().execute("SELECT Name FROM Account")]
    ordinary = [n for n in names if n not in vocabulary.SPECIAL_COMPANIES]
    assert len(set(ordinary)) == len(ordinary)
    stems = collections.Counter(" ".join(n.split()[:2]) for n in ordinary)
    assert max(stems.values()) <= 3, stems.most_common(3)

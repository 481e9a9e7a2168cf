"""The rerun cache's parts, without a server: ages, keys, frames through Parquet, the store."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import stat
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from sfnotebook import dtypes as sfdt
from sfnotebook._cachedir import cache_root, private_dir, write_private
from sfnotebook._rerun import clear_cache, parse_max_age
from sfnotebook._rerun._age import describe_age
from sfnotebook._rerun._frames import NotCacheable, decode, encode
from sfnotebook._rerun._key import request_key
from sfnotebook._rerun._store import Store
from sfnotebook.errors import InvalidArgumentError

ORG, USER = "00DDE00000000012AA", "005Dm0000Aumbl9IQA"


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SFNOTEBOOK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


# --------------------------------------------------------------------------- ages


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1h", 3600),
        ("30min", 1800),
        ("30 min", 1800),
        ("2d", 172800),
        ("1h30m", 5400),
        ("90 seconds", 90),
        ("1 week", 604800),
        ("3600", 3600),
        (3600, 3600),
        (0.5, 0.5),
        (dt.timedelta(hours=2), 7200),
        (" 2 Hours ", 7200),
    ],
)
def test_ages_are_read(value: object, seconds: float) -> None:
    assert parse_max_age(value) == seconds


@pytest.mark.parametrize("value", [None, False])
def test_no_cache(value: object) -> None:
    assert parse_max_age(value) is None


@pytest.mark.parametrize(
    "value",
    ["soon", "", "1 fortnight", "h", "-5", "1h soon", 0, -5, True, float("nan"), float("inf"),
     dt.timedelta(0), [1], "1h,,x"],
)  # fmt: skip
def test_bad_ages_are_typed_errors_that_say_what_to_write(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match=r'cache="1h"') as caught:
        parse_max_age(value)
    assert caught.value.argument == "cache"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5 s old"), (720, "12 min old"), (3600, "1 h old"), (5400, "1 h 30 min old"),
     (86400 * 2, "2 d old"), (86400 + 7200, "1 d 2 h old")],
)  # fmt: skip
def test_ages_are_described(seconds: float, text: str) -> None:
    assert describe_age(seconds) == text


# --------------------------------------------------------------------------- keys


def _key(**changes: Any) -> str:
    base: dict[str, Any] = {
        "kind": "soql",
        "org_id": ORG,
        "user_id": USER,
        "api_version": "62.0",
        "request": {"soql": "SELECT Id FROM Account", "dtypes": None, "output": "pandas"},
    }
    request = {**base["request"], **changes.pop("request", {})}
    return request_key(**{**base, **changes, "request": request})


def test_the_key_changes_with_whoever_and_whatever_is_asked() -> None:
    keys = {
        _key(),
        _key(org_id="00DDE00000000099AA"),
        _key(user_id="005Dm0000Aumbl9XXX"),
        _key(api_version="61.0"),
        _key(kind="bulk"),
        _key(request={"soql": "SELECT Id FROM Account LIMIT 1"}),
        _key(request={"dtypes": {"Id": "string"}}),
        _key(request={"dtypes": {"Id": pd.StringDtype("pyarrow")}}),
        _key(request={"output": "arrow"}),
        _key(request={"children": "drop"}),
        _key(request={"filters": [("Amount", ">", 1)]}),
        _key(request={"filters": [("Amount", ">", 1.0)]}),
        _key(request={"filters": [("Close Date", ">", dt.date(2024, 1, 1))]}),
    }
    assert len(keys) == 13
    assert len(_key()) == 64
    assert _key() == _key()  # deterministic
    assert _key(request={"dtypes": {"a": "x", "b": "y"}}) == _key(
        request={"dtypes": {"b": "y", "a": "x"}}
    )


# --------------------------------------------------------------------------- frames


def _every_pandas_dtype() -> pd.DataFrame:
    """One column per pandas dtype of sfnotebook's table, nulls included, plus edge values."""
    columns: dict[str, Any] = {}
    for name, row in sfdt.TYPES.items():
        dtype = row.pandas_dtype
        if name == "anyType":
            columns[name] = pd.Series(["text", None, "more"], dtype=object)
        elif name == "date":
            columns[name] = pd.Series(["2024-01-31", None, "4000-12-31"], dtype="datetime64[s]")
        elif name == "datetime":
            columns[name] = (
                pd.Series(["2024-01-31T08:30:00.123Z", None, "2262-01-01T00:00:00.000Z"])
                .pipe(pd.to_datetime, utc=True)
                .astype(dtype)
            )
        elif name == "time":
            columns[name] = pd.Series(["08:30:00.5", None, "23:59:59.999"]).pipe(pd.to_timedelta)
        elif str(dtype) == "boolean":
            columns[name] = pd.array([True, None, False], dtype=dtype)
        elif str(dtype) == "Int64":
            columns[name] = pd.array([1, None, 2**62], dtype=dtype)
        elif str(dtype) == "Float64":
            columns[name] = pd.array([1.5, None, -0.0], dtype=dtype)
        else:
            columns[name] = pd.array(["O'Brien ☃", None, ""], dtype=dtype)
    frame = pd.DataFrame(columns)
    frame["far datetime"] = pd.Series(
        [pd.Timestamp("3000-01-01", tz="UTC"), pd.NaT, pd.Timestamp("2024-01-01", tz="UTC")]
    ).astype("datetime64[ms, UTC]")
    frame["split picklist"] = pd.Series([["A", "B"], None, []], dtype=object)
    frame["decimal"] = pd.Series(
        [decimal.Decimal("1.10"), None, decimal.Decimal("-2")], dtype=object
    )
    frame["python date"] = pd.Series([dt.date(2024, 1, 31), None, dt.date(1, 1, 1)], dtype=object)
    frame.attrs["report_format"] = "TABULAR"
    frame.attrs["sfnotebook"] = {"kind": "soql"}
    return frame


def test_every_pandas_dtype_comes_back_exactly() -> None:
    frame = _every_pandas_dtype()
    data, meta = encode(frame)
    back = decode(data, meta)
    assert list(back.dtypes) == list(frame.dtypes)
    assert back.equals(frame)
    assert back["split picklist"].iloc[0] == ["A", "B"] and isinstance(
        back["split picklist"].iloc[0], list
    )
    assert back["decimal"].iloc[0] == decimal.Decimal("1.10")
    assert back.attrs == {"report_format": "TABULAR"}  # metadata is put back by the cache


def test_aggregates_with_a_multiindex_and_attrs_come_back() -> None:
    index = pd.MultiIndex.from_tuples(
        [("Prospecting", "New"), ("Prospecting", None), (None, None)], names=["Stage", "Type"]
    )
    frame = pd.DataFrame(
        {"Sum of Amount": pd.array([1.0, None, 3.0], dtype="Float64")}, index=index
    )
    frame.attrs.update(report_format="MATRIX", aggregate_keys={"Sum of Amount": "s!AMOUNT"})
    back = decode(*encode(frame))
    assert back.index.equals(frame.index) and back.index.names == ["Stage", "Type"]
    assert [str(d) for d in back.index.dtypes] == [str(d) for d in frame.index.dtypes]
    assert back.equals(frame) and back.attrs == frame.attrs


def test_arrow_tables_come_back_exactly() -> None:
    table = pa.table(
        {
            "Id": pa.array(["a", None]),
            "Close Date": pa.array([dt.date(2024, 1, 31), None], pa.date32()),
            "Created": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), None],
                                pa.timestamp("ms", tz="UTC")),
            "Time": pa.array([dt.timedelta(hours=8), None], pa.duration("ms")),
            "Seats": pa.array([1, None], pa.int64()),
        }
    )  # fmt: skip
    back = decode(*encode(table))
    assert back.schema.remove_metadata() == table.schema and back.equals(table)


def test_polars_frames_come_back_exactly() -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"Id": ["a", None], "Seats": [1, None]})
    back = decode(*encode(frame))
    assert back.schema == frame.schema and back.equals(frame)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([{"a": 1}, None], "dict"),
        ([[1, 2], None], "lists of other things"),
        ([object(), None], "object"),
        ([1, "a"], "Parquet cannot hold it"),
    ],
)
def test_what_would_come_back_different_is_not_kept(values: list[Any], reason: str) -> None:
    with pytest.raises(NotCacheable, match=reason):
        encode(pd.DataFrame({"anyType": pd.Series(values, dtype=object)}))


def test_attrs_that_are_not_plain_data_are_not_kept() -> None:
    frame = pd.DataFrame({"Id": ["a"]})
    frame.attrs["thing"] = object()
    with pytest.raises(NotCacheable, match="attrs"):
        encode(frame)


# --------------------------------------------------------------------------- the store


def _put(store: Store, key: str = "k" * 64) -> None:
    frame = pd.DataFrame({"Id": ["a", "b"]})
    store.put(key, parts={"frame": encode(frame)}, extra={"shape": "frame"}, info={"rows": 2})


def test_entries_are_private_and_per_org_and_user(_cache_dir: Path) -> None:
    store = Store(ORG, USER)
    _put(store)
    folder = _cache_dir / "results" / f"{ORG}-{USER}"
    assert store.folder == folder
    for path in (_cache_dir, _cache_dir / "results", folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    files = sorted(folder.iterdir())
    assert sorted(p.suffix for p in files) == [".json", ".parquet"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    entry = store.get("k" * 64, max_age=60)
    assert entry is not None and entry.manifest["info"] == {"rows": 2}
    # Another user or org of the same key never reads it.
    assert Store(ORG, "005Dm0000Aumbl9XXX").get("k" * 64, max_age=60) is None
    assert Store("00DDE00000000099AA", USER).get("k" * 64, max_age=60) is None


def test_an_entry_older_than_asked_is_not_read(_cache_dir: Path) -> None:
    store = Store(ORG, USER)
    _put(store)
    manifest = store.folder / f"{'k' * 64}.json"
    data = json.loads(manifest.read_text())
    data["saved_at"] -= 3600
    manifest.write_text(json.dumps(data))
    assert store.get("k" * 64, max_age=3599) is None
    entry = store.get("k" * 64, max_age=3700)
    assert entry is not None and 3600 <= entry.age_s < 3700


def test_a_damaged_or_foreign_entry_is_as_if_none(_cache_dir: Path) -> None:
    store = Store(ORG, USER)
    _put(store)
    manifest = store.folder / f"{'k' * 64}.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "user_id": "005Dm0000Aumbl9XXX"}))
    assert store.get("k" * 64, max_age=60) is None
    manifest.write_text("{not json")
    assert store.get("k" * 64, max_age=60) is None


def test_a_rewrite_replaces_the_parts_and_leaves_no_stray_file(_cache_dir: Path) -> None:
    store = Store(ORG, USER)
    _put(store)
    _put(store)
    names = sorted(p.name for p in store.folder.iterdir())
    assert len(names) == 2, names  # one manifest, one part: the old part is gone
    assert not [n for n in names if n.endswith(".tmp")]


def test_odd_ids_never_become_paths() -> None:
    with pytest.raises(ValueError, match="not an org and user Id"):
        Store("../../etc", USER)
    with pytest.raises(ValueError, match="not a cache directory name"):
        private_dir("..")


def test_clear_cache_removes_one_owner_or_all(_cache_dir: Path) -> None:
    _put(Store(ORG, USER))
    _put(Store(ORG, "005Dm0000Aumbl9XXX"))
    (_cache_dir / "doctor").mkdir()
    write_private(_cache_dir / "doctor" / f"{ORG}.json", "{}")

    class Conn:
        org_id, user_id = ORG, USER

    assert clear_cache(Conn()) == 1
    assert Store(ORG, "005Dm0000Aumbl9XXX").get("k" * 64, max_age=60) is not None
    assert clear_cache() == 1
    assert clear_cache() == 0
    assert (cache_root() / "doctor" / f"{ORG}.json").exists()  # only results are cleared


def test_writes_are_atomic_and_private(tmp_path: Path) -> None:
    target = tmp_path / "new" / "file.json"
    write_private(target, "one")
    write_private(target, b"two")
    assert target.read_text() == "two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.json"]

"""Result metadata (sfnotebook._meta) and the folder extract(to=) returns, without a server."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sfnotebook._meta import KEYS, attach, identity_of, info_of, make_info
from sfnotebook.bulk._folder import ExtractFolder, folder_result
from sfnotebook.soql._frames import QueryResult


class _Conn:
    org_id = "00DDE00000000012AA"
    user_id = "005Dm0000Aumbl9IQA"
    username = "analyst@example.com"


class _NotLoggedIn:
    @property
    def org_id(self) -> str:
        raise RuntimeError("not logged in")


def _info(**overrides: Any) -> dict[str, Any]:
    info = make_info(
        _Conn(),
        kind="soql",
        request="SELECT Id FROM Account",
        rows=2,
        pages_or_runs=1,
        api_calls=3,
        elapsed_s=0.12345,
    )
    info.update(overrides)
    return info


def test_the_dict_has_every_key_in_order_and_only_small_values() -> None:
    info = _info()
    assert tuple(info) == KEYS
    assert info["org_id"] == "00DDE00000000012AA"
    assert info["user_id"] == "005Dm0000Aumbl9IQA"
    assert info["username"] == "analyst@example.com"
    assert info["elapsed_s"] == 0.123
    assert info["from_cache"] is False and info["cache_age_s"] is None
    assert info["fetched_at"].endswith("Z") and "T" in info["fetched_at"]
    assert all(isinstance(v, str | int | float | bool | type(None)) for v in info.values())


def test_a_connection_that_cannot_say_who_it_is_gives_empty_names() -> None:
    assert identity_of(_NotLoggedIn()) == ("", "", None)


class _IdentityNotRead(_Conn):
    identity_fetched = False

    @property
    def username(self) -> str:  # reading it would send a request
        raise AssertionError("the metadata read the identity")


def test_an_unread_identity_leaves_the_username_unknown_not_the_id() -> None:
    assert identity_of(_IdentityNotRead()) == ("00DDE00000000012AA", "005Dm0000Aumbl9IQA", None)


def test_pandas_attrs_keep_what_was_there_and_survive_derived_frames() -> None:
    df = pd.DataFrame({"Id": ["a", "b"]})
    df.attrs["sfnotebook"] = {"restarts": 0}
    out = attach(df, _info())
    assert out is df
    assert df.attrs["sfnotebook"]["restarts"] == 0
    assert df.attrs["sfnotebook"]["kind"] == "soql"
    derived = df.head(1)  # pandas copies attrs into derived frames
    assert derived.attrs["sfnotebook"]["rows"] == 2
    assert info_of(df) == df.attrs["sfnotebook"]
    # Small enough that pandas' deep copy of attrs on every operation costs nothing.
    assert len(repr(copy.deepcopy(df.attrs))) < 1000


def test_arrow_tables_carry_it_in_their_schema_metadata() -> None:
    table = pa.table({"Id": ["a"]}).replace_schema_metadata({b"sfnotebook.restarts": b"0"})
    out = attach(table, _info())
    assert out.schema.metadata[b"sfnotebook.restarts"] == b"0"
    assert info_of(out) == _info() | {"fetched_at": info_of(out)["fetched_at"]}


def test_query_results_and_their_children_carry_it() -> None:
    res = QueryResult(pd.DataFrame({"Id": ["a", "b"]}), {"Contacts": pd.DataFrame({"Id": ["c"]})})
    attach(res, _info())
    assert res.info["rows"] == 2
    assert res.frame.attrs["sfnotebook"]["rows"] == 2
    assert res["Contacts"].attrs["sfnotebook"]["rows"] == 1


def test_a_count_and_a_polars_frame_pass_through() -> None:
    assert attach(5, _info()) == 5
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"Id": ["a"]})
    assert attach(frame, _info()) is frame
    assert info_of(frame) is None


def _parts(folder: Path, sizes: list[int]) -> Path:
    folder.mkdir()
    for n, rows in enumerate(sizes):
        pq.write_table(
            pa.table({"Id": [str(i) for i in range(rows)]}), folder / f"part-{n:05}.parquet"
        )
    return folder


def test_the_extract_folder_is_a_path_that_says_what_it_holds(tmp_path: Path) -> None:
    path = _parts(tmp_path / "opps", [3, 2])
    folder = folder_result(path, _info())
    assert isinstance(folder, ExtractFolder) and isinstance(folder, Path)
    assert (folder.rows, folder.files) == (5, 2)
    assert folder.bytes == sum(p.stat().st_size for p in path.iterdir())
    assert repr(folder).startswith(f"ExtractFolder({str(path)!r}, rows=5, files=2, bytes=")
    assert folder == path and path == folder.path and hash(folder) == hash(path)
    assert os.fspath(folder) == str(folder) == str(path)
    assert folder.name == "opps" and folder.is_dir()
    assert sorted(p.name for p in folder.glob("*.parquet")) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    assert (folder / "part-00000.parquet").exists()
    assert repr(folder.parent) == repr(path.parent)  # a derived path claims no counts
    assert len(pd.read_parquet(folder)) == 5
    assert pq.read_table(folder).num_rows == 5
    assert "5 rows in 2 Parquet files" in folder._repr_html_()
    attach(folder, _info())
    assert folder.info["kind"] == "soql"


def test_an_empty_extract_folder(tmp_path: Path) -> None:
    folder = folder_result(_parts(tmp_path / "none", [0]), _info())
    assert (folder.rows, folder.files) == (0, 1)
    assert "rows=0, files=1" in repr(folder)


def test_results_that_are_not_a_folder_pass_through() -> None:
    frame = pd.DataFrame({"Id": ["a"]})
    assert folder_result(frame, _info()) is frame

"""The on-disk describe cache (sfnotebook._describe_cache), without a network: keys, dates,
file modes, and every way a kept file can be wrong (each one ignored, never raised)."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from sfnotebook import _cachedir
from sfnotebook._describe_cache import MAX_AGE, DescribeCache, enabled_by_env, stamp_of

ORG = "00DDE0000000001AAA"
USER = "005DE0000000001AAA"
OTHER_USER = "005DE0000000002AAA"
DESCRIBE: dict[str, Any] = {"name": "Account", "fields": [{"name": "Id", "type": "id"}]}


def _answer(**headers: str) -> requests.Response:
    resp = requests.Response()
    resp.status_code = 200
    resp.headers.update(headers)
    resp.elapsed = dt.timedelta(seconds=0.4)
    return resp


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def cache(tmp_path: Path) -> DescribeCache:
    found = DescribeCache.for_user(ORG, USER, "68.0", root=tmp_path)
    assert found is not None
    return found


def test_the_date_sent_is_last_modified_when_the_answer_has_one() -> None:
    resp = _answer(
        Date="Fri, 12 Jul 2013 05:03:24 GMT", **{"Last-Modified": "Wed, 3 Jul 2013 19:43:31 GMT"}
    )
    assert stamp_of(resp) == "Wed, 03 Jul 2013 19:43:31 GMT"  # EEE, dd MMM yyyy HH:mm:ss z


def test_without_last_modified_the_date_is_the_answers_less_its_round_trip() -> None:
    # 05:03:24 less 0.4 s: 05:03:23.6, whole seconds down, so never after the org's read.
    assert (
        stamp_of(_answer(Date="Fri, 12 Jul 2013 05:03:24 GMT")) == "Fri, 12 Jul 2013 05:03:23 GMT"
    )


def test_an_answer_without_a_date_is_not_kept(cache: DescribeCache) -> None:
    assert stamp_of(_answer()) is None
    assert stamp_of(_answer(Date="yesterday")) is None
    assert cache.store("Account", _answer(), DESCRIBE) is False
    assert cache.load("Account") is None


def test_a_kept_describe_comes_back_with_its_date_in_private_files(
    tmp_path: Path, cache: DescribeCache
) -> None:
    assert cache.store("Account", _answer(Date="Fri, 12 Jul 2013 05:03:24 GMT"), DESCRIBE)
    kept = cache.load("account")  # object names in any case
    assert kept is not None and kept.describe == DESCRIBE
    assert kept.stamp == "Fri, 12 Jul 2013 05:03:23 GMT"
    path = cache.path("Account")
    assert path == tmp_path / "describes" / ORG / USER / "v68.0" / "account.json"
    assert _mode(path) == 0o600
    for folder in (
        path.parent,
        path.parent.parent,
        path.parent.parent.parent,
        tmp_path / "describes",
    ):
        assert _mode(folder) == 0o700, folder
    assert [p.name for p in path.parent.iterdir()] == ["account.json"]  # no temporary left


def test_orgs_users_and_versions_do_not_share(tmp_path: Path) -> None:
    keys = [
        (ORG, USER, "68.0"),
        (ORG, OTHER_USER, "68.0"),
        (ORG, USER, "67.0"),
        ("00DDE0000000002AAA", USER, "68.0"),
    ]
    caches = [DescribeCache.for_user(*key, root=tmp_path) for key in keys]
    assert all(c is not None for c in caches)
    folders = {c.folder for c in caches if c is not None}
    assert len(folders) == len(keys)
    first = caches[0]
    assert first is not None and first.store(
        "Account", _answer(Date="Fri, 12 Jul 2013 05:03:24 GMT"), DESCRIBE
    )
    assert all(c.load("Account") is None for c in caches[1:] if c is not None)


@pytest.mark.parametrize(
    ("org", "user", "version"),
    [
        ("../../etc", USER, "68.0"),
        (ORG, "005/../x", "68.0"),
        (ORG, USER, "68.0/.."),
        ("", USER, "68.0"),
    ],
)
def test_ids_that_are_not_ids_make_no_path(
    tmp_path: Path, org: str, user: str, version: str
) -> None:
    assert DescribeCache.for_user(org, user, version, root=tmp_path) is None


def test_an_object_name_that_is_not_one_is_refused(cache: DescribeCache) -> None:
    with pytest.raises(ValueError, match="not an object's API name"):
        cache.path("../limits")
    assert cache.load("../limits") is None  # load never raises


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"null",
        b"[]",
        orjson.dumps(
            {"format": 99, "sobject": "account", "stamp": "x", "saved": 0, "describe": DESCRIBE}
        ),
        b'{"format": 1, "sobject": "account", "stamp": "Fri, 12 Jul 2013 05:03:24 GMT"}',
        b'{"format": 1, "sobject": "contact", "stamp": "Fri, 12 Jul 2013 05:03:24 GMT", "saved": NOW, "describe": {"name": "Account", "fields": []}}',
        b'{"format": 1, "sobject": "account", "stamp": "not a date", "saved": NOW, "describe": {"name": "Account", "fields": []}}',
        b'{"format": 1, "sobject": "account", "stamp": "Fri, 12 Jul 2013 05:03:24 GMT", "saved": true, "describe": {"name": "Account", "fields": []}}',
        b'{"format": 1, "sobject": "account", "stamp": "Fri, 12 Jul 2013 05:03:24 GMT", "saved": NOW, "describe": {"name": "Contact", "fields": []}}',
        b'{"format": 1, "sobject": "account", "stamp": "Fri, 12 Jul 2013 05:03:24 GMT", "saved": NOW, "describe": {"name": "Account", "fields": [1]}}',
        b"\xff\xfe garbage",
    ],
)
def test_a_damaged_file_is_ignored_and_replaced(cache: DescribeCache, content: bytes) -> None:
    import time

    path = cache.path("Account")
    path.parent.mkdir(parents=True)
    path.write_bytes(content.replace(b"NOW", str(time.time()).encode()))
    os.chmod(path, 0o600)
    assert cache.load("Account") is None
    assert cache.store("Account", _answer(Date="Fri, 12 Jul 2013 05:03:24 GMT"), DESCRIBE)
    kept = cache.load("Account")
    assert kept is not None and kept.describe == DESCRIBE


def test_a_folder_in_the_way_is_ignored(cache: DescribeCache) -> None:
    cache.path("Account").mkdir(parents=True)  # a directory where the file should be
    assert cache.load("Account") is None
    assert cache.store("Account", _answer(Date="Fri, 12 Jul 2013 05:03:24 GMT"), DESCRIBE) is False


def test_a_file_others_may_write_is_ignored(cache: DescribeCache) -> None:
    assert cache.store("Account", _answer(Date="Fri, 12 Jul 2013 05:03:24 GMT"), DESCRIBE)
    os.chmod(cache.path("Account"), 0o666)  # noqa: S103 - the case under test
    assert cache.load("Account") is None


def test_a_copy_older_than_the_max_age_is_fetched_in_full(cache: DescribeCache) -> None:
    import time

    assert cache.store("Account", _answer(Date="Fri, 12 Jul 2013 05:03:24 GMT"), DESCRIBE)
    now = time.time()
    assert cache.load("Account", now=now + MAX_AGE / 2) is not None
    assert cache.load("Account", now=now + MAX_AGE + 1) is None
    assert cache.load("Account", now=now - 3600) is None  # saved "in the future": the clock moved


def test_the_environment_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SFNOTEBOOK_DESCRIBE_CACHE", raising=False)
    assert enabled_by_env()
    for off in ("0", "false", "No", " off "):
        monkeypatch.setenv("SFNOTEBOOK_DESCRIBE_CACHE", off)
        assert not enabled_by_env()
    monkeypatch.setenv("SFNOTEBOOK_DESCRIBE_CACHE", "1")
    assert enabled_by_env()


def test_the_cache_folder_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SFNOTEBOOK_CACHE_DIR", str(tmp_path / "mine"))
    assert _cachedir.cache_root() == tmp_path / "mine"
    monkeypatch.delenv("SFNOTEBOOK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cachedir.cache_root() == tmp_path / "xdg" / "sfnotebook"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _cachedir.cache_root() == tmp_path / "home" / ".cache" / "sfnotebook"


def test_write_private_replaces_a_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b.json"
    _cachedir.write_private(path, "old")
    os.chmod(path, 0o644)
    _cachedir.write_private(path, b"new")
    assert path.read_bytes() == b"new" and _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["b.json"]

"""Shared fixtures: one demo org per test session, and a connection to it.

Tests that change the demo org's behaviour (faults, expiry) start their own ``DemoOrg`` so the
shared one stays fault-free for everyone else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

import sfnotebook


@pytest.fixture(autouse=True, scope="session")
def _no_stray_settings() -> Iterator[None]:
    """A developer's real SF_* variables must never leak into the tests."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("SF_")}
    yield
    os.environ.update(saved)


@pytest.fixture(autouse=True, scope="session")
def _a_private_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The kept describes and doctor findings of test runs go to a folder of the run's own."""
    saved = os.environ.get("SFNOTEBOOK_CACHE_DIR")
    os.environ["SFNOTEBOOK_CACHE_DIR"] = str(tmp_path_factory.mktemp("sfnotebook-cache"))
    yield
    if saved is None:
        os.environ.pop("SFNOTEBOOK_CACHE_DIR", None)
    else:
        os.environ["SFNOTEBOOK_CACHE_DIR"] = saved


@pytest.fixture(scope="session")
def demo_org() -> Iterator[Any]:
    from sfnotebook_demo import DemoOrg

    with DemoOrg() as demo:
        yield demo


@pytest.fixture(autouse=True)
def _a_fresh_hour_of_report_runs(request: pytest.FixtureRequest) -> None:
    """Each test on the session's demo org starts with the hour's report runs unspent.

    The demo org enforces Salesforce's 500 sync / 1,200 async report runs an hour, and the
    session's tests together make more than that; a test about the limit sets it itself
    (``demo.set_limits``).
    """
    if "demo_org" in request.fixturenames:
        request.getfixturevalue("demo_org").set_limits(
            HourlySyncReportRuns=500, HourlyAsyncReportRuns=1200
        )


def connect_to(demo: Any, **options: Any) -> sfnotebook.Connection:
    """A connection to a demo org with fast retries (tests must not sleep for long)."""
    options.setdefault("backoff", 0.01)
    options.setdefault("set_default", False)
    return sfnotebook.connect(**demo.connect_kwargs(), env_file=False, **options)


@pytest.fixture(scope="session")
def org(demo_org: Any) -> sfnotebook.Connection:
    return connect_to(demo_org)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print what the soak test survived (its counts are the reliability issue's evidence)."""
    from bench.soak import SOAK_KEY

    for line in config.stash.get(SOAK_KEY, []):
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session (``local[2]``, no UI) for every test that reads with Spark.

    Skips where pyspark or a Java runtime is missing (``make test`` installs both). Spark's
    Python workers are this interpreter, with this checkout first on their path.
    """
    import shutil
    import sys
    from pathlib import Path

    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime (make java installs Debian's openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    root = str(Path(__file__).resolve().parent.parent)
    saved = {k: os.environ.get(k) for k in ("PYSPARK_PYTHON", "PYTHONPATH")}
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, saved["PYTHONPATH"]) if p)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("sfnotebook-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value

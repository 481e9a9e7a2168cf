"""The ``salesforce`` Spark format on a local Spark session (``local[2]``), against the demo org.

Spark runs the data source in its own Python workers: ``schema()`` and ``partitions()`` in
planning workers, ``read()`` in the executors' workers; every object crosses by pickle, as
on a cluster. Failures raised there reach this process as Spark's exceptions, carrying the
Python error's type and message in their text.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import sfnotebook
from sfnotebook import bulk
from tests.adversarial.proxy import RewritingProxy
from tests.conftest import connect_to
from tests.scaleout.conftest import (
    JOB_INFO,
    PAGE,
    SOQL,
    connect_through,
    drop_last_lines,
    json_edit,
    one_more_processed,
    page_urls,
    sort,
)

pytestmark = pytest.mark.spark

pytest.importorskip("pyspark")
sf_spark = pytest.importorskip("sfnotebook.spark")
from pyspark.sql import types as T  # noqa: E402
from pyspark.sql.datasource import CaseInsensitiveDict  # noqa: E402

SCHEMA = T.StructType(
    [
        T.StructField("Id", T.StringType()),
        T.StructField("Name", T.StringType()),
        T.StructField("StageName", T.StringType()),
        T.StructField("Amount", T.DoubleType()),
        T.StructField("Probability", T.DoubleType()),
        T.StructField("CloseDate", T.DateType()),
        T.StructField("IsWon", T.BooleanType()),
        T.StructField("CreatedDate", T.TimestampType()),
        T.StructField("TotalOpportunityQuantity", T.DoubleType()),
        T.StructField("Account.Name", T.StringType()),
    ]
)


@pytest.fixture
def registered(spark: Any, scale_org: sfnotebook.Connection) -> Any:
    """The format on the shared connection's current token (the expiry test kills the old)."""
    scale_org.limits()  # renews the connection's token if it expired
    return sf_spark.register(spark, scale_org)


def _load(spark: Any, fmt: str = "salesforce", **options: Any) -> Any:
    reader = spark.read.format(fmt).option("soql", SOQL).option("maxRecords", PAGE)
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load()


def _as_expected(frame: Any, org: sfnotebook.Connection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spark's rows and ``extract``'s, both as pandas frames of Spark's Arrow types."""
    got = frame.toArrow()
    want = org.extract(SOQL, max_records=PAGE, progress=False, output="arrow")
    return sort(got.to_pandas()), sort(want.cast(got.schema).to_pandas())


def _jobs(org: sfnotebook.Connection) -> int:
    return len(org.get_json("jobs/query")["records"])


def test_the_frame_equals_extract(
    spark: Any, registered: Any, scale_org: sfnotebook.Connection, expected: pd.DataFrame
) -> None:
    before = _jobs(scale_org)
    frame = _load(spark)
    assert frame.schema == SCHEMA
    assert frame.rdd.getNumPartitions() == -(-len(expected) // PAGE)
    assert frame.count() == len(expected)
    got, want = _as_expected(frame, scale_org)
    pd.testing.assert_frame_equal(got, want)
    assert _jobs(scale_org) == before + 2, "load() ran one job (and extract the other)"


def test_pages_per_partition(spark: Any, registered: Any, expected: pd.DataFrame) -> None:
    frame = _load(spark, pagesPerPartition=3)
    assert frame.rdd.getNumPartitions() == 3
    assert frame.count() == len(expected)


def test_a_dropped_page_is_read_again_by_its_partition_only(
    spark: Any, scale_proxy: RewritingProxy, scale_org: sfnotebook.Connection
) -> None:
    conn = connect_through(scale_proxy)
    sf_spark.register(spark, conn, name="salesforce_proxy")
    frame = _load(spark, "salesforce_proxy")
    probed = page_urls(scale_proxy)
    rule = scale_proxy.rule("GET", re.escape(probed[2].split("?")[1]), nth=1, drop=True)
    got, want = _as_expected(frame, scale_org)
    pd.testing.assert_frame_equal(got, want)
    assert rule.fired == 1
    downloads = page_urls(scale_proxy)[len(probed) :]
    assert sorted(downloads) == sorted([*probed, probed[2]]), "only that page was read twice"
    created = [p for m, p in scale_proxy.requests if m == "POST" and p.endswith("/jobs/query")]
    assert len(created) == 1


def test_a_short_page_fails_the_read(spark: Any, scale_proxy: RewritingProxy) -> None:
    sf_spark.register(spark, connect_through(scale_proxy), name="salesforce_short")
    frame = _load(spark, "salesforce_short")
    third = page_urls(scale_proxy)[2].split("?")[1]
    scale_proxy.rule("GET", re.escape(third), nth=0, edit=drop_last_lines(5))
    with pytest.raises(
        Exception,
        match=r"IncompleteResultError: result page \d held 2,495 rows; Salesforce said 2,500",
    ):
        frame.count()


def test_the_job_count_is_checked_when_loading(spark: Any, scale_proxy: RewritingProxy) -> None:
    sf_spark.register(spark, connect_through(scale_proxy), name="salesforce_count")
    scale_proxy.rule("GET", JOB_INFO, nth=0, edit=json_edit(one_more_processed))
    with pytest.raises(Exception, match=r"IncompleteResultError: .* processed 19,\d+ rows"):
        _load(spark, "salesforce_count")


def test_a_token_that_expires_mid_read_fails_with_what_to_do(spark: Any, scale_demo: Any) -> None:
    sf_spark.register(spark, connect_to(scale_demo), name="salesforce_expiring")
    frame = _load(spark, "salesforce_expiring")
    scale_demo.expire_sessions()
    with pytest.raises(Exception, match=r"WorkerTokenExpiredError: .*credentials='environment'"):
        frame.count()


def test_bad_options_are_refused(spark: Any, registered: Any) -> None:
    with pytest.raises(Exception, match="unknown salesforce options"):
        _load(spark, maxRecord=10)
    with pytest.raises(Exception, match="maxRecords must be a whole number"):
        spark.read.format("salesforce").option("soql", SOQL).option("maxRecords", "x").load()


def test_nothing_spark_ships_holds_the_consumer_secret(
    registered: Any, scale_demo: Any, scale_org: sfnotebook.Connection
) -> None:
    import cloudpickle

    source = registered(CaseInsensitiveDict({"soql": SOQL, "maxRecords": str(PAGE)}))
    source.schema()
    reader = source.reader(SCHEMA)
    shipped = b"".join(
        cloudpickle.dumps(x) for x in (registered, source, reader, *reader.partitions())
    )
    assert scale_demo.consumer_secret.encode() not in shipped
    assert scale_org.token.access_token.reveal().encode() in shipped  # credentials="token"
    env = sf_spark.register(_Registry(), scale_org, credentials="environment")
    assert scale_org.token.access_token.reveal().encode() not in cloudpickle.dumps(env)


def test_the_reader_yields_spark_arrow_batches(registered: Any, scale_org: Any) -> None:
    source = registered(CaseInsensitiveDict({"soql": SOQL, "maxRecords": str(PAGE)}))
    reader = source.reader(source.schema())
    batches = list(reader.read(reader.partitions()[0]))
    assert sum(b.num_rows for b in batches) == PAGE
    assert batches[0].schema.field("CreatedDate").type == pa.timestamp("us", tz="UTC")


def test_an_interrupt_while_the_job_runs_aborts_it(
    registered: Any, scale_org: sfnotebook.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``load()`` runs the job in ``schema()``: an interrupt there aborts it (Spark runs the
    same code in its planning worker)."""
    created: list[str] = []
    real_create = bulk._create_job

    def create(*args: Any, **kwargs: Any) -> dict[str, Any]:
        job = real_create(*args, **kwargs)
        created.append(str(job["id"]))
        return job

    def interrupt(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(bulk, "_create_job", create)
    monkeypatch.setattr(bulk, "_poll", interrupt)
    with pytest.raises(KeyboardInterrupt):
        # pollInterval 0: the first status check comes at once, while the job still runs.
        registered(CaseInsensitiveDict({"soql": SOQL, "pollInterval": "0"})).schema()
    monkeypatch.undo()
    assert scale_org.get_json(f"jobs/query/{created[0]}")["state"] == "Aborted"


class _Registry:
    """Stands in for a SparkSession where only the registered class is looked at."""

    class dataSource:  # the attribute name a SparkSession has
        @staticmethod
        def register(source: Any) -> None:
            pass

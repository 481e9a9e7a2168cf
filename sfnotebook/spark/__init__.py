"""Salesforce as a Spark data source (pyspark 4's Python Data Source API), partitioned by page.

>>> import sfnotebook.spark
>>> sfnotebook.spark.register(spark, org)                                   # doctest: +SKIP
>>> df = (spark.read.format("salesforce")
...       .option("soql", "SELECT Id, Amount, CloseDate FROM Opportunity")
...       .load())                                                          # doctest: +SKIP

What runs where:

* ``load()`` (Spark calls :meth:`SalesforceDataSource.schema` on the driver, in a Python
  worker of its own): the Bulk API 2.0 job is created and waited for, its result pages listed
  and probed, their counts checked against ``numberRecordsProcessed``, the schema fixed from
  the describes (:func:`sfnotebook.bulk._partitions.plan_read`). Every action on the frame
  then reads that one finished job (its results stay on Salesforce for 7 days): ``count()``
  and ``write`` see the same rows, and no action starts a second job.
* each action: one Spark partition per result page (``pagesPerPartition`` to group them);
  each task downloads its pages with sfnotebook's own page reader, parses them with its
  CSV-to-Arrow code and yields Arrow batches (:func:`SalesforceReader.read`). A page that stays
  short after the retries fails the task, so the action.

Options (case-insensitive): ``soql`` or ``jobId`` (one of them), ``includeDeleted``
(``true``/``false``), ``maxRecords`` (rows per page), ``pagesPerPartition`` (default 1),
``pollInterval`` (seconds), ``compress`` (``true``/``false``; default: as ``extract``).

Credentials: :func:`register` binds the format to a connection; the data source class carries
a :class:`~sfnotebook._worker.WorkerGrant` (the access token, or with
``credentials="environment"`` nothing secret), never the consumer secret.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sfnotebook import _options
from sfnotebook._worker import Credentials, WorkerGrant, grant_for, worker_connection
from sfnotebook.bulk._partitions import ReadPlan, plan_read, read_pages
from sfnotebook.connection import Connection, get_default
from sfnotebook.errors import OutputLibraryMissingError, SfNotebookError
from sfnotebook.spark._types import spark_arrow_schema, spark_schema, to_spark

try:
    from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
except ImportError:  # pragma: no cover - the extra is not installed
    raise OutputLibraryMissingError(
        "sfnotebook.spark needs pyspark 4 (and a Java runtime): pip install 'sfnotebook[spark]'",
        library="pyspark",
    ) from None

__all__ = ["SalesforceDataSource", "SalesforceReader", "register"]

OPTIONS = (
    "soql",
    "jobId",
    "includeDeleted",
    "maxRecords",
    "pagesPerPartition",
    "pollInterval",
    "compress",
)


def register(
    spark: Any,
    org: Connection | None = None,
    *,
    credentials: Credentials = "token",
    name: str = "salesforce",
) -> type[SalesforceDataSource]:
    """Register the ``salesforce`` format on ``spark``, reading through ``org``'s org.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    org : Connection, optional
        The driver's connection (default: the default connection).
    credentials : {"token", "environment"}
        ``"token"``: executors get this connection's access token (register again once the
        session has expired); ``"environment"``: each executor logs in from its own
        ``SF_*`` settings (a secret scope exposed as environment variables).
    name : str
        The format name (one per org, if you read several).

    Returns
    -------
    The registered data source class.

    Examples
    --------
    >>> sfnotebook.spark.register(spark, org)                                # doctest: +SKIP
    >>> spark.read.format("salesforce").option("soql", "SELECT Id FROM Account").load()
    ...     # doctest: +SKIP
    """
    grant = grant_for(org if org is not None else get_default(), credentials)
    # A class of its own per registration, pickled by value (its qualified name cannot be
    # looked up), so the grant travels with it into Spark's Python workers.
    source = type(
        "SalesforceDataSource",
        (SalesforceDataSource,),
        {"grant": grant, "format_name": name, "__qualname__": f"SalesforceDataSource[{name}]"},
    )
    spark.dataSource.register(source)
    return source


class SalesforceDataSource(DataSource):  # type: ignore[misc]
    """The ``salesforce`` format; use :func:`register`, which binds it to a connection."""

    grant: WorkerGrant | None = None
    format_name = "salesforce"

    @classmethod
    def name(cls) -> str:
        return cls.format_name

    def schema(self) -> Any:
        """Run the job, plan the read, and return the schema (called once, by ``load()``)."""
        return spark_schema(self._planned().schema)

    def reader(self, schema: Any) -> SalesforceReader:
        plan = self._planned()
        if schema != spark_schema(plan.schema):
            raise ValueError(
                "The salesforce format fixes its schema from the describes; leave out "
                f".schema(...). It is: {spark_schema(plan.schema).simpleString()}"
            )
        return SalesforceReader(self._grant(), plan, _count(self.options, "pagesPerPartition", 1))

    def _grant(self) -> WorkerGrant:
        if self.grant is None:
            raise SfNotebookError(
                "This salesforce data source has no connection: register it with "
                "sfnotebook.spark.register(spark, org)."
            )
        return self.grant

    def _planned(self) -> ReadPlan:
        plan: ReadPlan | None = getattr(self, "_plan", None)
        if plan is None:
            plan = _plan(worker_connection(self._grant()), self.options)
            self._plan = plan  # pickled with the data source into the planning worker
        return plan


class SalesforceReader(DataSourceReader):  # type: ignore[misc]
    """Partitions of pages, each read on an executor into Arrow batches of the Spark schema."""

    def __init__(self, grant: WorkerGrant, plan: ReadPlan, pages_per_partition: int) -> None:
        self.grant = grant
        self.plan = plan
        self.pages_per_partition = pages_per_partition

    def partitions(self) -> list[Any]:
        return [InputPartition(pages) for pages in self.plan.partitions(self.pages_per_partition)]

    def read(self, partition: Any) -> Iterator[Any]:
        """Download, parse and check one partition's pages; yield Spark's Arrow batches."""
        conn = worker_connection(self.grant)
        target = spark_arrow_schema(self.plan.schema)
        pages = read_pages(conn, self.plan.schema, partition.value, compress=self.plan.compress)
        for table in pages:
            yield from to_spark(table, target).to_batches()


def _plan(conn: Connection, options: Mapping[str, str]) -> ReadPlan:
    unknown = sorted(set(k.lower() for k in options) - {o.lower() for o in OPTIONS})
    if unknown:
        raise ValueError(f"unknown salesforce options {unknown}; the options are {list(OPTIONS)}")
    return plan_read(
        conn,
        soql=options.get("soql"),
        job_id=options.get("jobId"),
        include_deleted=_flag(options, "includeDeleted", False) or False,
        max_records=_count(options, "maxRecords", None),
        poll_interval=_seconds(options, "pollInterval", 0.2),
        compress=_flag(options, "compress", None),
    )


def _flag(options: Mapping[str, str], name: str, default: bool | None) -> bool | None:
    value = options.get(name)
    if value is None:
        return default
    if str(value).lower() not in {"true", "false"}:
        raise ValueError(f"option {name} must be true or false, not {value!r}")
    return str(value).lower() == "true"


def _count(options: Mapping[str, str], name: str, default: int | None) -> Any:
    value = options.get(name)
    if value is None:
        return default
    if not str(value).isdigit():
        raise ValueError(f"option {name} must be a whole number, not {value!r}")
    _options.check_count(name, int(value))
    return int(value)


def _seconds(options: Mapping[str, str], name: str, default: float) -> float:
    value = options.get(name)
    try:
        seconds = float(value) if value is not None else default
    except ValueError:
        raise ValueError(f"option {name} must be a number of seconds, not {value!r}") from None
    _options.check_seconds(name, seconds)
    return seconds

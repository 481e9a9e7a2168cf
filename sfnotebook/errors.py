"""The sfnotebook exception tree.

Every error a user can cause derives from :class:`SfNotebookError`. Messages say what happened
and what to do next; context travels as attributes (``status``, ``error_code``, ``url``), never
as secrets: no message, attribute or ``repr`` here ever holds a consumer secret or a token.

::

    SfNotebookError
    ├── ConfigurationError            settings are missing or unusable (no network involved)
    │   ├── MissingSettingError
    │   ├── InsecureDomainError        http:// to a host other than localhost
    │   └── InvalidSettingError        malformed domain, API version, CA bundle path ...
    ├── AuthenticationError           the token endpoint refused the credentials
    │   ├── MyDomainRequiredError      login/test.salesforce.com or "not supported on this domain"
    │   ├── InvalidClientIdError       unknown consumer key
    │   ├── InvalidClientSecretError   invalid_client: wrong or rotated secret (or flow off)
    │   ├── RunAsUserMissingError      "no client credentials user enabled"
    │   └── GrantTypeNotEnabledError   Client Credentials Flow not enabled on the app
    ├── NetworkError                  DNS, refused connection, TLS verification, timeout
    ├── ConnectionClosedError         a call on a connection after its close()
    ├── SalesforceError               a REST error body ([{"errorCode", "message"}])
    │   ├── SessionExpiredError        INVALID_SESSION_ID after a re-exchange
    │   │   └── WorkerTokenExpiredError  the token a Spark/Dask worker was handed expired
    │   ├── MalformedQueryError        MALFORMED_QUERY
    │   ├── InvalidFieldError          INVALID_FIELD
    │   ├── InvalidTypeError           INVALID_TYPE
    │   ├── QueryLocatorExpiredError   INVALID_QUERY_LOCATOR, or a cursor lost with its session
    │   ├── RequestLimitExceededError  REQUEST_LIMIT_EXCEEDED
    │   ├── NotFoundError              NOT_FOUND / 404
    │   ├── ServerUnavailableError     5xx after the retries ran out
    │   └── UnexpectedAnswerError      a 2xx answer that is not what the endpoint sends:
    │                                  HTML login page, empty, truncated, null, wrong shape
    ├── InvalidArgumentError          a verb's argument cannot be sent as given (also a
    │   │                              ValueError); raised before any request
    │   ├── SoqlBindError              a params= value or name that cannot be bound
    │   └── ReportFilterError          a report filter or filter logic that cannot work
    ├── IncompleteResultError         fewer rows than Salesforce said there are
    ├── ReportError
    │   ├── ReportNotFoundError
    │   ├── AmbiguousReportError
    │   ├── ReportPagingError          a report past 2,000 rows that cannot be paged
    │   ├── ReportFilterError          (also an InvalidArgumentError)
    │   └── ReportRunLimitError        the org's hourly report runs cannot fetch it whole
    ├── DashboardError                a dashboard could not be found, refreshed or read whole
    │   ├── DashboardNotFoundError
    │   ├── AmbiguousDashboardError
    │   ├── DashboardComponentError    components answered an error or no data
    │   ├── DashboardRefreshError      a refresh was refused or did not finish
    │   └── DashboardFilterError       (also an InvalidArgumentError)
    ├── BulkJobError                  a Bulk API 2.0 job failed or was aborted
    │   └── IngestJobError             ... an ingest job (``.results`` holds every row's outcome)
    ├── IngestValidationError         (also InvalidArgumentError) rows that cannot be written;
    │                                  raised before any job exists, ``.problems`` lists them
    ├── RowsFailedError               an insert/update/upsert/delete wrote some rows, not all
    ├── IngestIncompleteError         (also IncompleteResultError) ingest results that do not
    │                                  add up to the rows sent
    ├── OutputFolderError             extract(to=...) got a file or a folder already in use
    ├── OutputLibraryMissingError     output="polars" (or an Excel export) without the library
    └── ExportError                   to_excel/to_csv/to_clipboard could not write (the earlier
                                      file, if any, is left as it was)
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

__all__ = [
    "AmbiguousDashboardError",
    "AmbiguousReportError",
    "AuthenticationError",
    "BulkJobError",
    "ConfigurationError",
    "ConnectionClosedError",
    "DashboardComponentError",
    "DashboardError",
    "DashboardFilterError",
    "DashboardNotFoundError",
    "DashboardRefreshError",
    "DashboardWarning",
    "ExportError",
    "GrantTypeNotEnabledError",
    "IncompleteResultError",
    "IngestIncompleteError",
    "IngestJobError",
    "IngestProblem",
    "IngestValidationError",
    "InsecureDomainError",
    "InvalidArgumentError",
    "InvalidClientIdError",
    "InvalidClientSecretError",
    "InvalidFieldError",
    "InvalidSettingError",
    "InvalidTypeError",
    "LargeResultWarning",
    "MalformedQueryError",
    "MissingSettingError",
    "MyDomainRequiredError",
    "NetworkError",
    "NotFoundError",
    "OutputFolderError",
    "OutputLibraryMissingError",
    "QueryLocatorExpiredError",
    "ReportError",
    "ReportFilterError",
    "ReportNotFoundError",
    "ReportPagingError",
    "ReportRunLimitError",
    "RequestLimitExceededError",
    "RowsFailedError",
    "RowsFailedWarning",
    "RunAsUserMissingError",
    "SalesforceError",
    "ServerUnavailableError",
    "SessionExpiredError",
    "SfNotebookError",
    "SfNotebookWarning",
    "SoqlBindError",
    "UnexpectedAnswerError",
    "WorkerTokenExpiredError",
    "error_from_body",
]


class SfNotebookError(Exception):
    """Base of every sfnotebook error.

    Context travels as typed attributes, declared by each class that adds any, with one name
    per meaning across the package (``expected``/``received`` rows for every completeness error,
    ``report_id`` for every report error, ...).

    Attributes
    ----------
    message : str
        What happened and what to do next (also ``str(error)``).
    status : int | None
        HTTP status of the response that caused it, when there was one.
    error_code : str | None
        Salesforce's ``errorCode`` (REST) or ``error`` (OAuth), when there was one.
    url : str | None
        The URL called, without query string (a query string may hold SOQL with values).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.url = url

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as class, message and context attributes: Exception's default (``cls(*args)``)
        # fails for classes with required keyword context, and a Dask worker's error must
        # reach the client whole. No error holds a secret (see the module docstring).
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[SfNotebookError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """Unpickle an error without calling its ``__init__`` (its context comes back as it was)."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigurationError(SfNotebookError):
    """Settings are missing or unusable; raised before anything is sent."""


class MissingSettingError(ConfigurationError):
    """A required setting (``SF_DOMAIN``, ``SF_CONSUMER_KEY``, ``SF_CONSUMER_SECRET``) is absent.

    Attributes
    ----------
    setting : str
        The environment variable's name (``SF_CONSUMER_KEY``, ...).
    """

    def __init__(self, message: str, *, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


class InsecureDomainError(ConfigurationError):
    """``http://`` to a host other than localhost: the secret would travel in clear text."""


class InvalidSettingError(ConfigurationError):
    """A setting has a value that cannot work (malformed domain, API version, CA bundle path)."""


class AuthenticationError(SfNotebookError):
    """The token endpoint refused the client credentials."""


class MyDomainRequiredError(AuthenticationError):
    """The client credentials flow needs the org's My Domain host."""


class InvalidClientIdError(AuthenticationError):
    """The consumer key is unknown to this org."""


class InvalidClientSecretError(AuthenticationError):
    """The token endpoint answered ``invalid_client``: the consumer secret is wrong or was
    rotated, or (some orgs answer the same way) the client credentials flow is not enabled."""


class RunAsUserMissingError(AuthenticationError):
    """The connected app has no Run As user for the client credentials flow."""


class GrantTypeNotEnabledError(AuthenticationError):
    """The connected app does not have the Client Credentials Flow enabled."""


class NetworkError(SfNotebookError):
    """The host could not be reached: DNS, refused connection, TLS verification or timeout.

    Attributes
    ----------
    reason : str | None
        ``"dns"``, ``"refused"``, ``"tls"``, ``"timeout"`` or ``"connection"``.
    """

    def __init__(self, message: str, *, reason: str | None = None, url: str | None = None) -> None:
        super().__init__(message, url=url)
        self.reason = reason


class ConnectionClosedError(SfNotebookError):
    """A call on a connection after its ``close()``: nothing is sent (its token was revoked)."""


class SalesforceError(SfNotebookError):
    """Salesforce answered a REST call with an error body.

    Attributes
    ----------
    sf_message : str | None
        Salesforce's own message, as it sent it.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        url: str | None = None,
        sf_message: str | None = None,
    ) -> None:
        super().__init__(message, status=status, error_code=error_code, url=url)
        self.sf_message = sf_message


class SessionExpiredError(SalesforceError):
    """The session stayed invalid after a fresh token exchange."""


class WorkerTokenExpiredError(SessionExpiredError):
    """The access token the driver handed to Spark executors or Dask workers expired mid-read.

    Workers never hold the consumer secret, so they cannot exchange a new token: the read fails
    (a partition, and so the whole read) instead of returning part of the result. The message
    says what to do: read again (the job's results stay on Salesforce for 7 days; pass its
    ``job_id``), or let the workers log in themselves (``credentials="environment"``).
    """


class MalformedQueryError(SalesforceError):
    """The SOQL could not be parsed (``MALFORMED_QUERY``)."""


class InvalidFieldError(SalesforceError):
    """A field or relationship in the SOQL does not exist (``INVALID_FIELD``).

    Attributes
    ----------
    close_matches : tuple[str, ...]
        The object's field and relationship names close to the unknown one, best first (from
        the connection's cached describe; the message says "Did you mean ...?").
    """

    close_matches: tuple[str, ...] = ()


class InvalidTypeError(SalesforceError):
    """The object in the SOQL does not exist or is not visible (``INVALID_TYPE``).

    Attributes
    ----------
    close_matches : tuple[str, ...]
        The org's object names close to the unknown one, best first.
    """

    close_matches: tuple[str, ...] = ()


class QueryLocatorExpiredError(SalesforceError):
    """A query cursor expired or was released (``INVALID_QUERY_LOCATOR``), or was refused after
    the session was renewed (a cursor may belong to the session that opened it) more often than
    ``sfnotebook.soql.MAX_RESTARTS`` restarts could make good.

    Attributes
    ----------
    expected, received : int | None
        The query's ``totalSize`` and the rows read before the cursor was lost, when known
        (as on :class:`IncompleteResultError`).
    restarts : int | None
        For a cursor refused after the session was renewed: how often the query had been
        read again from page 1 before it gave up (None for an expired or released cursor).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        url: str | None = None,
        sf_message: str | None = None,
        expected: int | None = None,
        received: int | None = None,
        restarts: int | None = None,
    ) -> None:
        super().__init__(
            message, status=status, error_code=error_code, url=url, sf_message=sf_message
        )
        self.expected = expected
        self.received = received
        self.restarts = restarts


class RequestLimitExceededError(SalesforceError):
    """The org's API request allowance is used up (``REQUEST_LIMIT_EXCEEDED``)."""


class NotFoundError(SalesforceError):
    """The resource does not exist (``NOT_FOUND`` / HTTP 404)."""


class ServerUnavailableError(SalesforceError):
    """Salesforce kept answering 5xx (or dropping the connection) after every retry."""


class UnexpectedAnswerError(SalesforceError):
    """An answer that is not what the endpoint sends: an HTML (login or proxy) page, an empty,
    truncated or ``null`` body, an error array carried by a 2xx, or the wrong JSON shape.

    Raised at the edge, where the answer is decoded, for the token exchange, the versions list,
    the identity URL, limits, describe and every :meth:`Connection.get_json
    <sfnotebook.connection.Connection.get_json>`; the message names the endpoint and the status
    and shows the start of the body with secrets and tokens masked.

    Attributes
    ----------
    endpoint : str
        Which answer it was (``"token exchange"``, ``"API versions"``, ``"identity"``,
        ``"limits"``, ``"describe Account"``, or ``"GET <path>"``).
    content_type : str | None
        The answer's ``Content-Type`` header.
    body_start : str
        The first ~200 characters of the body, secrets and tokens masked.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        status: int | None = None,
        error_code: str | None = None,
        url: str | None = None,
        sf_message: str | None = None,
        content_type: str | None = None,
        body_start: str = "",
    ) -> None:
        super().__init__(
            message, status=status, error_code=error_code, url=url, sf_message=sf_message
        )
        self.endpoint = endpoint
        self.content_type = content_type
        self.body_start = body_start


class InvalidArgumentError(SfNotebookError, ValueError):
    """A verb's argument cannot be sent as given; raised before any request is sent.

    A value that would change the request's meaning (a name with URL syntax in it, a SOQL
    value that cannot be quoted, a report filter value a comma would split) is refused here
    rather than sent. Also a :class:`ValueError`, so code written against the built-in keeps
    working.

    Attributes
    ----------
    argument : str
        The argument at fault (``"params"``, ``"filters"``, ``"report"``, ``"sobject"``,
        ``"job_id"``, ...).
    """

    def __init__(self, message: str, *, argument: str) -> None:
        super().__init__(message)
        self.argument = argument


class SoqlBindError(InvalidArgumentError):
    """A value (or a name) that cannot be bound into the SOQL as one literal.

    Raised for a name the SOQL binds that ``params=`` lacks, a ``params=`` entry the SOQL does
    not use, and a value with no SOQL literal of the same meaning (NaN, a datetime without a
    time zone, a dict, an empty list ...). The magics show it as a one-line ``UsageError``.

    Attributes
    ----------
    name : str | None
        The bind name at fault (``"since"`` for ``:since``), when there is one.
    """

    def __init__(self, message: str, *, name: str | None = None, argument: str = "params") -> None:
        super().__init__(message, argument=argument)
        self.name = name


class IncompleteResultError(SfNotebookError):
    """Fewer (or more) rows arrived than Salesforce said there are; no partial frame is returned.

    Attributes
    ----------
    expected : int | None
        The rows Salesforce announced (``totalSize``, a report's Record Count, a page's
        ``Sforce-NumberOfRecords``, a job's ``numberRecordsProcessed``).
    received : int | None
        The rows that arrived.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: int | None,
        received: int | None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.expected = expected
        self.received = received


class ReportError(SfNotebookError):
    """A report could not be found, run or read whole.

    Attributes
    ----------
    report_id : str | None
        The report's Id, once it is known.
    """

    def __init__(
        self,
        message: str,
        *,
        report_id: str | None = None,
        status: int | None = None,
        error_code: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, status=status, error_code=error_code, url=url)
        self.report_id = report_id


class ReportNotFoundError(ReportError):
    """No report with that Id or name is visible to the user.

    Attributes
    ----------
    close_matches : list[str]
        Names of visible reports close to the one asked for.
    """

    def __init__(self, message: str, *, close_matches: list[str] | None = None) -> None:
        super().__init__(message)
        self.close_matches = list(close_matches or [])


class AmbiguousReportError(ReportError):
    """Several reports carry that name.

    Attributes
    ----------
    candidates : list[str]
        The Ids of the reports with that name.
    """

    def __init__(self, message: str, *, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = list(candidates)


class ReportPagingError(ReportError):
    """A report has more than 2,000 detail rows and cannot be paged past the limit."""


class ReportFilterError(InvalidArgumentError, ReportError):
    """A report filter (or the filter logic) that cannot work as given; raised before the run.

    A malformed filter, a column or operator the report type does not have, a list value
    holding a comma, filter logic naming a filter that does not exist.

    Attributes
    ----------
    close_matches : list[str]
        Columns (or operators) close to the one given, when there are any.
    """

    def __init__(
        self, message: str, *, argument: str = "filters", close_matches: list[str] | None = None
    ) -> None:
        super().__init__(message, argument=argument)
        self.close_matches = list(close_matches or [])


class ReportRunLimitError(ReportError):
    """The org's report runs left this hour cannot fetch the report whole; nothing was returned.

    Salesforce allows 500 synchronous and 1,200 asynchronous report runs an hour per org,
    shared by every user and dashboard; paging a report costs one run per 2,000 rows.

    Attributes
    ----------
    runs_needed : int | None
        The runs fetching the rest of the report would take (None when a run was refused).
    sync_remaining, async_remaining : int | None
        What ``/limits`` said was left (``HourlySyncReportRuns``, ``HourlyAsyncReportRuns``).
    """

    def __init__(
        self,
        message: str,
        *,
        report_id: str | None = None,
        runs_needed: int | None = None,
        sync_remaining: int | None = None,
        async_remaining: int | None = None,
        status: int | None = None,
        error_code: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(
            message, report_id=report_id, status=status, error_code=error_code, url=url
        )
        self.runs_needed = runs_needed
        self.sync_remaining = sync_remaining
        self.async_remaining = async_remaining


class DashboardError(SfNotebookError):
    """A dashboard could not be found, refreshed or read whole.

    Attributes
    ----------
    dashboard_id : str | None
        The dashboard's Id (``01Z...``), once it is known.
    """

    def __init__(
        self,
        message: str,
        *,
        dashboard_id: str | None = None,
        status: int | None = None,
        error_code: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, status=status, error_code=error_code, url=url)
        self.dashboard_id = dashboard_id


class DashboardNotFoundError(DashboardError):
    """No dashboard with that Id or name is visible to the user.

    Attributes
    ----------
    close_matches : list[str]
        Names of listed dashboards close to the one asked for.
    """

    def __init__(self, message: str, *, close_matches: list[str] | None = None) -> None:
        super().__init__(message)
        self.close_matches = list(close_matches or [])


class AmbiguousDashboardError(DashboardError):
    """Several dashboards carry that name.

    Attributes
    ----------
    candidates : list[str]
        The Ids of the dashboards with that name.
    """

    def __init__(self, message: str, *, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = list(candidates)


class DashboardComponentError(DashboardError):
    """Components of a dashboard answered an error, or no data; no partial dashboard is returned.

    Attributes
    ----------
    components : list[str]
        The Ids of the components at fault.
    """

    def __init__(self, message: str, *, dashboard_id: str, components: list[str]) -> None:
        super().__init__(message, dashboard_id=dashboard_id)
        self.components = list(components)


class DashboardRefreshError(DashboardError):
    """A dashboard refresh was refused (the hourly allowance is used up) or did not finish."""


class DashboardFilterError(InvalidArgumentError, DashboardError):
    """A dashboard filter, filter option or running user that the dashboard does not have.

    Raised before the dashboard's data is read, with the filters and options it does have.

    Attributes
    ----------
    close_matches : list[str]
        Filter names (or options) close to the one given, when there are any.
    """

    def __init__(
        self, message: str, *, argument: str = "filters", close_matches: list[str] | None = None
    ) -> None:
        super().__init__(message, argument=argument)
        self.close_matches = list(close_matches or [])


class BulkJobError(SfNotebookError):
    """A Bulk API 2.0 job failed or was aborted.

    Attributes
    ----------
    job_id : str
        The job's Id (``750...``).
    state : str | None
        Its final state (``Failed``, ``Aborted``).
    error_message : str | None
        Salesforce's ``errorMessage`` for the job.
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        state: str | None = None,
        error_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.state = state
        self.error_message = error_message


class OutputFolderError(SfNotebookError, FileExistsError):
    """``extract(to=...)`` was given a file, or a folder that already holds other files.

    Also a :class:`FileExistsError`, so code written against the built-in keeps working.
    """


class OutputLibraryMissingError(SfNotebookError, ImportError):
    """``output=`` names a library that is not installed (the message says what to install).

    Also an :class:`ImportError`, so code written against the built-in keeps working.

    Attributes
    ----------
    library : str
        The missing library (``"polars"``).
    """

    def __init__(self, message: str, *, library: str) -> None:
        super().__init__(message)
        self.library = library


class ExportError(SfNotebookError, OSError):
    """An export (``to_excel``, ``to_csv``, ``to_clipboard``) could not be written.

    A file export writes a temporary file beside the target and renames it over the target
    only once complete, so after this error an earlier file at ``path`` is as it was. Also an
    :class:`OSError`, so code written against the built-in keeps working.

    Attributes
    ----------
    path : str | None
        The file that was to be written (None for the clipboard).
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class IngestProblem(NamedTuple):
    """One reason some rows cannot be written, found before any job exists.

    ``column`` is the frame's column (``None`` for the whole frame), ``rows`` the input index
    labels of the rows at fault (empty when it is the column itself), ``reason`` what is wrong
    and what to do.
    """

    column: str | None
    reason: str
    rows: tuple[object, ...] = ()


class IngestValidationError(InvalidArgumentError):
    """The frame cannot be written as given; raised before any job is created, nothing sent.

    Every problem found is listed at once (the message shows each with up to five of its rows).

    Attributes
    ----------
    problems : list[IngestProblem]
        ``(column, reason, rows)`` for each problem.
    """

    def __init__(self, message: str, *, problems: list[IngestProblem]) -> None:
        super().__init__(message, argument="df")
        self.problems = list(problems)

    def table(self) -> Any:
        """The problems as a pandas DataFrame: one row per (problem, input row)."""
        import pandas as pd

        rows = [(p.column, row, p.reason) for p in self.problems for row in (p.rows or (None,))]
        return pd.DataFrame(
            {name: pd.Series([r[i] for r in rows], dtype=object) for i, name in
             enumerate(("column", "row", "reason"))}
        )  # fmt: skip


class RowsFailedError(SfNotebookError):
    """Some rows were written and some were not: ``.results`` says which, row by row.

    Raised after every job ended, so the rows that succeeded are in Salesforce: fix the
    failed ones (``results[~results.success]``) and send only those again.

    Attributes
    ----------
    results
        The per-row results (input index, success, id, created, error_code, error_message).
    failed : int
        How many rows failed.
    """

    def __init__(self, message: str, *, results: Any, failed: int) -> None:
        super().__init__(message)
        self.results = results
        self.failed = failed


class IngestJobError(BulkJobError):
    """An ingest job ended ``Failed`` or ``Aborted``; ``.results`` holds every row's outcome.

    Rows that the job (or an earlier job of the same call) processed stay written.

    Attributes
    ----------
    results
        The per-row results of the whole call, as far as it got.
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        state: str | None = None,
        error_message: str | None = None,
        results: Any = None,
    ) -> None:
        super().__init__(message, job_id=job_id, state=state, error_message=error_message)
        self.results = results


class IngestIncompleteError(IncompleteResultError):
    """An ingest job's results do not account for every row sent (or name rows never sent).

    Attributes
    ----------
    job_id : str
        The job whose results do not add up.
    results
        The per-row results as far as they could be matched to the input.
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        expected: int | None,
        received: int | None,
        results: Any = None,
    ) -> None:
        super().__init__(message, expected=expected, received=received)
        self.job_id = job_id
        self.results = results


class SfNotebookWarning(UserWarning):
    """Base of sfnotebook's warnings."""


class DashboardWarning(SfNotebookWarning):
    """A dashboard component answered a warning: its data may be incomplete (it is flagged)."""


class LargeResultWarning(SfNotebookWarning):
    """A REST query returned enough rows that ``extract`` (Bulk API 2.0) would serve better."""


class RowsFailedWarning(SfNotebookWarning):
    """Some rows of an insert/update/upsert/delete failed (with ``errors="warn"``)."""


_BY_CODE: dict[str, type[SalesforceError]] = {
    "INVALID_SESSION_ID": SessionExpiredError,
    "MALFORMED_QUERY": MalformedQueryError,
    "INVALID_FIELD": InvalidFieldError,
    "INVALID_TYPE": InvalidTypeError,
    "INVALID_QUERY_LOCATOR": QueryLocatorExpiredError,
    "REQUEST_LIMIT_EXCEEDED": RequestLimitExceededError,
    "NOT_FOUND": NotFoundError,
    "SERVER_UNAVAILABLE": ServerUnavailableError,
}

_ADVICE: dict[str, str] = {
    "MALFORMED_QUERY": "Check the SOQL syntax near the position Salesforce gives.",
    "INVALID_FIELD": (
        'Check the field\'s API name: org.fields("{entity}") lists them (custom fields end in '
        "__c, relationships in __r)."
    ),
    "INVALID_TYPE": (
        "Check the object's API name (custom objects end in __c) and that the Run As user can "
        "see it: org.objects() lists the objects this user can see."
    ),
    # Salesforce's API Query Cursor Limits page: "Cursors and their related query results are
    # available for 2 days ... There isn't a limit on the number of open cursors", changed with
    # API 56.0, for all versions; before, 10 cursors per user and 15 minutes idle.
    "INVALID_QUERY_LOCATOR": (
        "The server-side cursor is no longer valid: Salesforce keeps query cursors for 2 days "
        "with no limit on how many are open (since API 56.0; before, 15 minutes idle and 10 "
        "per user), and a cursor may belong to the session that opened it; rerun the query."
    ),
    # SOQL reference, OFFSET: "The maximum offset is 2,000 rows. Requesting an offset greater
    # than 2,000 results in a NUMBER_OUTSIDE_VALID_RANGE error."
    "NUMBER_OUTSIDE_VALID_RANGE": (
        "SOQL's OFFSET is at most 2,000: to read further, drop OFFSET and page on a key "
        "(ORDER BY Id, then WHERE Id > the last Id), or read it all with org.extract."
    ),
    "REQUEST_LIMIT_EXCEEDED": (
        "The org's API allowance is used up; wait for the rolling 24-hour window "
        "or ask an admin to raise the limit."
    ),
}


def error_from_body(status: int, body: Any, *, url: str | None = None) -> SalesforceError:
    """Build the typed error for a REST error response.

    ``body`` is the decoded JSON (normally ``[{"errorCode": ..., "message": ...}]``) or text.
    """
    code: str | None = None
    message: str | None = None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        code = body[0].get("errorCode")
        message = body[0].get("message")
    elif isinstance(body, dict):
        code = body.get("errorCode") or body.get("error")
        message = body.get("message") or body.get("error_description")
    elif isinstance(body, str) and body.strip():
        message = body.strip()[:500]
    if code is None and status == 404:
        code = "NOT_FOUND"
    cls = _BY_CODE.get(code or "", SalesforceError)
    if cls is SalesforceError and status >= 500:
        cls = ServerUnavailableError
    text = f"Salesforce answered {status}"
    if code:
        text += f" {code}"
    if message:
        echo = _aligned_echo(message)
        # A positioned message starts with its own line break: keep it, so the echoed SOQL
        # starts a line and the caret under it stays under the column it points at.
        text += f":\n{echo}" if echo is not None else f": {message.strip()}"
    advice = _ADVICE.get(code or "")
    if advice:
        text += "\n" + advice.replace("{entity}", _entity(message) or "<Object>")
    return cls(text, status=status, error_code=code, url=url, sf_message=message)


_ROW_COLUMN = re.compile(r"ERROR at Row:(\d+):Column:(\d+)")
_ENTITY = re.compile(r"on entity '([A-Za-z0-9_]+)'")


def _aligned_echo(message: str) -> str | None:
    """A positioned SOQL error with its caret under the right character, or None.

    Salesforce's layout (salesforce-api.md 4.1, the recorded INVALID_TYPE body in
    real-payloads/errors): a line break, the query's row as sent, a caret line, then
    ``ERROR at Row:r:Column:c`` and the detail. The caret line is spaces, so under a row that
    holds tabs it lands left of the column it names; it is rebuilt here from the row itself
    (a tab under each tab), which lines up however wide the display draws a tab. A caret that
    does not sit at the named column is left as Salesforce sent it.
    """
    lines = message.strip("\n").split("\n")
    if len(lines) < 3 or lines[1].strip() != "^":
        return None
    found = _ROW_COLUMN.match(lines[2])
    if found is None:
        return None
    row, column = lines[0], int(found.group(2))
    if lines[1].rstrip() == " " * (column - 1) + "^" and column - 1 <= len(row):
        pad = "".join(ch if ch == "\t" else " " for ch in row[: column - 1])
        lines[1] = pad + "^"
    return "\n".join(line.rstrip() if i != 1 else line for i, line in enumerate(lines))


def _entity(message: str | None) -> str | None:
    """The object an INVALID_FIELD message names (``on entity 'Account'``)."""
    found = _ENTITY.search(message or "")
    return found.group(1) if found else None

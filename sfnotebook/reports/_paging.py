"""Keyset paging of report detail rows past the Reports API's 2,000-row cap.

A run answers at most 2,000 detail rows (``allData: false`` beyond). There is no native paging,
so (``salesforce-api.md`` §5.11) the report is re-run sorted on a stable cursor column with one
extra filter past the last value seen, and the report's own filters and filter logic kept
(``(<original logic>) AND n``), until a run comes back with ``allData: true``.

* Operators come from the org: the report type's ``dataTypeFilterOperatorMap`` in
  ``/describe``. Salesforce's documented map gives ``id`` columns only equals, notEqual and
  startsWith (Filter Operator List of the Analytics REST API guide), so on such an org the record
  Id cannot be a cursor; some orgs may accept comparisons on Ids (KB 005321970 pages on the Id),
  and where the map says so the Id is used. A describe without any map is read as the documented
  one; a type missing from a map has no operators.
* Cursor: the report's own record Id column (unique: ``greaterThan``) when the org allows
  ``greaterThan`` on ``id``; else a non-formula datetime / Id / date / number column
  (``greaterOrEqual``, and the rows already seen at the boundary value are dropped again: by
  record Id when the report has an Id column, else by their full contents, counted so identical
  rows are kept). ``CREATED_DATE`` comes first: it never changes, and its values spread over the
  days records were created. Text columns never page: Salesforce sorts them ignoring case but
  compares ``lessThan``/``greaterThan`` case-sensitively (its KB says so of a ``CASESAFEID`` text
  formula), so sorting and filtering disagree.
* The record Id column is an ``id``-typed, non-formula column whose ``entityColumnName`` is an
  ``<Entity>.Id`` (or whose name ends in ``_ID``) and whose values are distinct in the first run:
  the one of the report type's own entity when several are, the only one otherwise (a custom
  report type's child Id). Its values must stay distinct in every run: a repeat raises.
* Filter values are written in the documented formats only: ``yyyy-MM-dd'T'HH:mm:ss'Z'`` and
  ``yyyy-MM-dd`` (Report Error Codes page); a datetime cell with milliseconds or an offset is
  moved to UTC and cut to the second (the rows of that second are seen again and dropped).
* Crowded values: when more rows share one value of a non-unique cursor than a run returns,
  that value's rows are paged on the next usable column (``K equals v`` plus its own cursor
  filter), then paging goes on past ``v`` with ``greaterThan``. A column whose first-run sample
  shows such crowding (or as many blanks: blanks sort first, so they must fit in one run) is
  ranked after the others.
* SUMMARY and MATRIX reports are paged as TABULAR runs (see :mod:`sfnotebook.reports._groups`).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from sfnotebook.errors import IncompleteResultError, ReportPagingError
from sfnotebook.reports._cells import cell_value as _value
from sfnotebook.reports.frames import DetailRow

__all__ = [
    "DOCUMENTED_OPERATORS",
    "FILTER_TIME",
    "MAX_FILTERS",
    "ROW_LIMIT",
    "Change",
    "Cursor",
    "change_kind",
    "choose_cursors",
    "column_entity",
    "column_infos",
    "cursor_value",
    "filter_date",
    "filter_operators",
    "has_name",
    "is_formula",
    "is_own",
    "operators",
    "own_entity",
    "page_details",
    "page_details_counted",
    "record_count",
    "record_id_column",
    "tabular_rows",
    "truncated",
    "type_columns",
    "with_added_filter",
    "with_row_count",
]

ROW_LIMIT = 2000
MAX_FILTERS = 20
#: A datetime filter value: "Accepted formats are yyyy-MM-dd'T'HH:mm:ss'Z' and yyyy-MM-dd"
#: (Report Error Codes page; fidelity-audit.md D7).
FILTER_TIME = "%Y-%m-%dT%H:%M:%SZ"
Run = Callable[[dict[str, Any]], dict[str, Any]]

# Cursor preference for non-unique columns, best first.
_RANK = {"datetime": 0, "id": 1, "date": 2, "int": 3, "double": 4, "currency": 4, "percent": 4}
# How an edit can move a record's value of a column while a report is paged (cursor rank):
# * FIXED: the creation date of the report's own records never changes;
# * FORWARD: their last-modified stamp only moves to "now", past every value paged so far, so
#   an edited record is read again later (dropped as a repeat by its Id, or counted twice and
#   refused by the count check), never skipped;
# * ANY: anything else (Close Date, Amount; a parent's dates too: re-parenting a record
#   changes them): an edit can move a record from the range not yet read into one already
#   read. That loses it, and with an insert the count still adds up, so paging on such a
#   column ends with a check of the records modified meanwhile (sfnotebook.reports._moves).
_CREATED = ("CREATED_DATE", ".CREATEDDATE")
_MODIFIED = (
    "LAST_UPDATE",
    "LAST_MODIFIED_DATE",
    ".LASTMODIFIEDDATE",
    "SYSTEMMODSTAMP",
    ".SYSTEMMODSTAMP",
)


class Change(IntEnum):
    """How an edit can move a record along a column (see the comment above)."""

    FIXED = 0
    FORWARD = 1
    ANY = 2


_COMPARE = ("equals", "notEqual", "lessThan", "greaterThan", "lessOrEqual", "greaterOrEqual")
# Salesforce's documented dataTypeFilterOperatorMap, for a describe that carries none: the
# Filter Operator List, developer.salesforce.com/docs/analytics/salesforce-analytics-rest-api/
# guide/analytics-api-filteroperators-reference-list.html (fidelity-audit.md 1a).
DOCUMENTED_OPERATORS: dict[str, frozenset[str]] = {
    **{t: frozenset(_COMPARE) for t in ("date", "datetime", "int", "double", "currency")},
    "percent": frozenset(_COMPARE),
    "id": frozenset({"equals", "notEqual", "startsWith"}),
    "reference": frozenset({"equals", "notEqual"}),
    "boolean": frozenset({"equals", "notEqual"}),
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WHOLE_SECOND_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@dataclass(frozen=True)
class Cursor:
    """The column keyset paging sorts and filters on."""

    column: str
    data_type: str
    unique: bool
    dedup_column: str | None  # a unique record Id column for de-duplication, if any
    #: Whether an edit can move a record to an earlier value (:class:`Change` ``ANY``).
    changeable: bool = False

    @property
    def operator(self) -> str:
        return "greaterThan" if self.unique else "greaterOrEqual"


def with_added_filter(
    metadata: Mapping[str, Any], flt: Mapping[str, Any], *, logic: str | None = None
) -> dict[str, Any]:
    """``metadata`` with ``flt`` ANDed on: appended, and the filter logic renumbered."""
    out = copy.deepcopy(dict(metadata))
    filters = list(out.get("reportFilters") or [])
    filters.append(dict(flt))
    out["reportFilters"] = filters
    saved = logic if logic is not None else out.get("reportBooleanFilter")
    out["reportBooleanFilter"] = f"({saved}) AND {len(filters)}" if saved else None
    return out


def column_infos(describe: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every column's information: the report type's (``reportTypeMetadata``), overlaid by
    the report's own ``detailColumnInfo`` where it has the column."""
    detail = (describe.get("reportExtendedMetadata") or {}).get("detailColumnInfo") or {}
    merged = {name: dict(info or {}) for name, info in type_columns(describe).items()}
    for name, info in detail.items():
        merged[name] = {**merged.get(name, {}), **(info or {})}
    return merged


def is_formula(info: Mapping[str, Any]) -> bool:
    return bool(info.get("isFormula") or info.get("formula") or info.get("calculated"))


def filter_operators(describe: Mapping[str, Any], data_type: str) -> frozenset[str] | None:
    """The operators the describe's own map lists for ``data_type``; None when it lists none.

    For checking a user's filter before the run: where the describe is silent the run itself
    decides (paging, which must not guess, uses :func:`operators`).
    """
    op_map = (describe.get("reportTypeMetadata") or {}).get("dataTypeFilterOperatorMap")
    if not isinstance(op_map, Mapping) or not isinstance(op_map.get(data_type), list):
        return None
    return operators(describe, data_type)


def operators(describe: Mapping[str, Any], data_type: str) -> frozenset[str]:
    """The filter operators the org allows on ``data_type`` columns, as its describe says.

    No ``dataTypeFilterOperatorMap`` at all: the documented map. A map without this type: none
    (an operator it does not list is refused with 400 "Specify a valid condition ...").
    """
    op_map = (describe.get("reportTypeMetadata") or {}).get("dataTypeFilterOperatorMap")
    if not isinstance(op_map, Mapping) or not op_map:
        return DOCUMENTED_OPERATORS.get(data_type, frozenset())
    ops = op_map.get(data_type)
    if not isinstance(ops, list):
        return frozenset()
    return frozenset(str(o.get("name") if isinstance(o, Mapping) else o) for o in ops)


def type_columns(describe: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of the report type, from ``/describe``'s ``reportTypeMetadata``."""
    out: dict[str, Any] = {}
    for category in (describe.get("reportTypeMetadata") or {}).get("categories") or []:
        out.update(category.get("columns") or {})
    return out


def record_id_column(
    metadata: Mapping[str, Any],
    describe: Mapping[str, Any],
    sample: Sequence[Sequence[Mapping[str, Any]]] = (),
) -> str | None:
    """The report's record Id column: one Id per detail row (see the module docstring), or None.

    With several candidates the report type's own entity's wins (``Opportunity.Id`` in an
    ``Opportunity`` report, ``Account.Id`` in ``AccountList``); a parent's Id repeats across its
    children's rows, so a candidate whose first-run values repeat is never one.
    """
    infos = column_infos(describe)
    base = str((metadata.get("reportType") or {}).get("type") or "").lower()
    columns = list(metadata.get("detailColumns") or [])
    found: list[tuple[str, str]] = []
    for at, col in enumerate(columns):
        info = infos.get(col) or {}
        if str(info.get("dataType", "")).lower() != "id" or is_formula(info):
            continue
        entity = str(info.get("entityColumnName") or "")
        if not (entity.lower().endswith(".id") or col.upper().endswith("_ID")):
            continue
        values = [_value(cells[at]) for cells in sample if at < len(cells)]
        if None in values or len(set(values)) != len(values):
            continue  # blank or repeated: not one record per row
        owner = entity[:-3] if entity.lower().endswith(".id") else col[: -len("_ID")]
        found.append((col, owner.lower()))
    own = [c for c, owner in found if owner and base.startswith(owner)]
    if own:
        return own[0]
    return found[0][0] if len(found) == 1 else None


def choose_cursors(
    metadata: Mapping[str, Any],
    describe: Mapping[str, Any],
    *,
    sample: Sequence[Sequence[Mapping[str, Any]]] = (),
    total: int | None = None,
) -> list[Cursor]:
    """The paging columns among the report's detail columns, best first, or ReportPagingError.

    The record Id column alone when the report has one and the org allows ``greaterThan`` on
    ``id`` columns; else every usable column, the later ones splitting values of the first that
    more than 2,000 rows share.

    ``sample`` (the first run's rows) and ``total`` (the report's row count) let a non-unique
    column that looks crowded (one value, or blanks, on about 1,500+ rows) give way to another,
    and tell the record Id column from a parent's Id.
    """
    infos = column_infos(describe)
    base = str((metadata.get("reportType") or {}).get("type") or "")
    columns = list(metadata.get("detailColumns") or [])
    dedup = record_id_column(metadata, describe, sample)
    if dedup is not None:
        info = infos.get(dedup) or {}
        if info.get("filterable", True) is not False and "greaterThan" in operators(describe, "id"):
            return [Cursor(dedup, "id", True, dedup)]
    candidates = []
    own = own_entity(metadata, describe, dedup)
    for position, col in enumerate(columns):
        info = infos.get(col) or {}
        data_type = str(info.get("dataType", "")).lower()
        if (
            data_type in _RANK
            and not is_formula(info)
            and info.get("filterable", True) is not False
            and "greaterOrEqual" in operators(describe, data_type)
        ):
            kind = change_kind(col, info, own=is_own(col, info, own))
            crowded = _crowded(sample, position, data_type, total)
            candidates.append((crowded, kind, _RANK[data_type], position, col, data_type))
    if not candidates:
        raise ReportPagingError(
            f"The report {metadata.get('name')!r} has more than {ROW_LIMIT:,} detail rows, and "
            "none of its columns can page past that limit: sfnotebook re-runs the report sorted "
            "on a date/time or number column that is not a formula (or on the record Id where "
            "the org allows range filters on Ids; text and formula columns compare "
            "inconsistently). Add Created Date (or the record Id column, e.g. "
            f"{(base.upper() or 'RECORD') + '_ID'}) to the report, or add filters so it "
            "returns at most 2,000 rows.",
            report_id=metadata.get("id"),
        )
    return [
        Cursor(col, data_type, False, dedup, changeable=kind is Change.ANY)
        for _, kind, _, _, col, data_type in sorted(candidates)
    ]


def change_kind(column: str, info: Mapping[str, Any], *, own: bool = True) -> Change:
    """How an edit can move a record along ``column``; ``own``: a column of the report's own
    records (a parent's column is ANY: re-parenting a record changes it)."""
    if not own:
        return Change.ANY
    if has_name(column, info, _CREATED):
        return Change.FIXED
    if has_name(column, info, _MODIFIED):
        return Change.FORWARD
    return Change.ANY


def has_name(column: str, info: Mapping[str, Any], names: Sequence[str]) -> bool:
    """Whether the column's name, or its ``entityColumnName``, is one of ``names`` (a name
    starting with a dot: the field of any object, ``Opportunity.CreatedDate``)."""
    for given in (column.upper(), str(info.get("entityColumnName") or "").upper()):
        for name in names:
            if given == name or (name.startswith(".") and given.endswith(name)):
                return True
    return False


def column_entity(column: str, info: Mapping[str, Any]) -> str | None:
    """The object a column belongs to (``opportunity`` of ``Opportunity.CloseDate``), or None
    when neither its ``entityColumnName`` nor its name says (a standard report type's own)."""
    named = str(info.get("entityColumnName") or "")
    if "." in named:
        return named.rsplit(".", 1)[0].lower()
    if "." in column:
        return column.rsplit(".", 1)[0].lower()
    return None


def own_entity(metadata: Mapping[str, Any], describe: Mapping[str, Any], dedup: str | None) -> str:
    """The object of the report's own records: its record Id column's, else the report
    type's name (``opportunity``; a custom type's own columns then count as a parent's)."""
    if dedup is not None:
        info = column_infos(describe).get(dedup) or {}
        entity = column_entity(dedup, info)
        if entity:
            return entity
        if dedup.upper().endswith("_ID"):
            return dedup[: -len("_ID")].lower()
    return str((metadata.get("reportType") or {}).get("type") or "").lower()


def is_own(column: str, info: Mapping[str, Any], own: str) -> bool:
    """Whether ``column`` belongs to the report's own records (``own``: :func:`own_entity`).

    Only by an exact match: a custom report type's name (``Accounts_with_Contacts__c``) may
    start with its primary object's while its rows are another's (the contacts), whose
    re-parenting changes the primary object's columns.
    """
    entity = column_entity(column, info)
    return entity is None or entity == own


def _crowded(
    sample: Sequence[Sequence[Mapping[str, Any]]], at: int, data_type: str, total: int | None
) -> bool:
    """Whether one value (or blank) probably covers too many rows for ``greaterOrEqual`` paging.

    Paging past a value needs every row holding it to fit in one run; blanks sort first and
    are never past any value, so they must fit in the first run.
    """
    if not sample or not total:
        return False
    values = Counter(cursor_value(cells[at], data_type) for cells in sample if at < len(cells))
    blanks = values.pop(None, 0)
    busiest = max(values.values(), default=0)
    scale = total / len(sample)
    return max(busiest, blanks) * scale >= ROW_LIMIT * 0.75


def cursor_value(cell: Mapping[str, Any], data_type: str) -> str | None:
    """A cell's value as a filter value of its column (None when blank)."""
    value = _value(cell)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if data_type in ("date", "datetime"):
        return filter_date(str(value), data_type)
    return str(value)


def filter_date(value: str, data_type: str) -> str:
    """A date or datetime cell value in a documented filter format.

    ``yyyy-MM-dd`` stays as it is (a date-only value on a datetime column means its whole day);
    a datetime becomes ``yyyy-MM-dd'T'HH:mm:ss'Z'``: moved to UTC, fractions of a second cut
    (``greaterOrEqual`` then takes in that whole second again, so no row is skipped). A value
    that is neither is returned unchanged, for the org to judge.
    """
    text = value.strip()
    if _DATE.match(text[:10]) and (data_type == "date" or len(text) == 10):
        return text[:10]
    if _WHOLE_SECOND_UTC.match(text) and text[0] != "0":
        return text  # already the format (parsing and printing it again gives it back)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)  # report values are GMT
    return moment.astimezone(dt.timezone.utc).strftime(FILTER_TIME)


def _row_key(cells: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(
        [[c.get("label"), c.get("value")] for c in cells], sort_keys=True, default=str
    )


def page_details(
    run: Run,
    metadata: Mapping[str, Any],
    cursors: Cursor | Sequence[Cursor],
    *,
    on_rows: Callable[[int], None] = lambda n: None,
    first: dict[str, Any] | None = None,
) -> list[Sequence[Mapping[str, Any]]]:
    """Every detail row's cells of a TABULAR run of ``metadata``, paged on ``cursors[0]``.

    ``first`` is a run already made with exactly this sort (reused, saving a run). When more
    rows share one value of a non-unique cursor than a run returns, that value's rows are paged
    on the next cursor (``K = v`` plus the next cursor's filter), then paging goes on past it.
    """
    return page_details_counted(run, metadata, cursors, on_rows=on_rows, first=first)[0]


def page_details_counted(
    run: Run,
    metadata: Mapping[str, Any],
    cursors: Cursor | Sequence[Cursor],
    *,
    on_rows: Callable[[int], None] = lambda n: None,
    first: dict[str, Any] | None = None,
    on_page: Callable[[list[Sequence[Mapping[str, Any]]]], None] | None = None,
    expected: int | None = None,
) -> tuple[list[Sequence[Mapping[str, Any]]], int | None]:
    """:func:`page_details`, and the record count of its first, unfiltered page (or None).

    ``on_page`` gets each run's new rows as soon as they are kept, in row order (to convert
    them while the next run is fetched). ``expected``: the report's Record Count as an earlier
    run gave it; a first page that counts otherwise means the data changed, and paging stops
    there (IncompleteResultError) instead of spending the hour's runs on a count that cannot
    add up.
    """
    chain = [cursors] if isinstance(cursors, Cursor) else list(cursors)
    pager = _Pager(run, metadata, chain, on_rows)
    pager.on_page = on_page
    pager.expected = expected
    try:
        rows = pager.page(with_row_count(metadata), 0, first=first, pre_seen=Counter())
    finally:
        pager.close()
    return rows, pager.total


def with_row_count(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``metadata`` whose aggregates include RowCount (the count rows are checked
    against: each run answers it as its grand total, ``T!T``)."""
    base = copy.deepcopy(dict(metadata))
    aggregates = list(base.get("aggregates") or [])
    if not any(str(a).lower() == "rowcount" for a in aggregates):
        base["aggregates"] = [*aggregates, "RowCount"]
    return base


def record_count(payload: Mapping[str, Any]) -> int | None:
    """The grand-total RowCount aggregate (T!T) of a run, when the run has one."""
    keys = [str(k).lower() for k in (payload.get("reportMetadata") or {}).get("aggregates") or []]
    if "rowcount" not in keys:
        return None
    grand = ((payload.get("factMap") or {}).get("T!T") or {}).get("aggregates") or []
    i = keys.index("rowcount")
    value = grand[i].get("value") if i < len(grand) else None
    return int(value) if isinstance(value, int | float) else None


class _Pager:
    def __init__(
        self,
        run: Run,
        metadata: Mapping[str, Any],
        chain: list[Cursor],
        on_rows: Callable[[int], None],
    ) -> None:
        self.run = run
        self.report_id = metadata.get("id")
        self.chain = chain
        self.on_rows = on_rows
        self.columns = list(metadata.get("detailColumns") or [])
        dedup = chain[0].dedup_column
        self.dedup_at = self.columns.index(dedup) if dedup else None
        self.seen_ids: set[Any] = set()
        self.total: int | None = None
        self.expected: int | None = None
        self.on_page: Callable[[list[Sequence[Mapping[str, Any]]]], None] | None = None
        self._pool: ThreadPoolExecutor | None = None

    def _send(self, metadata: dict[str, Any]) -> Future[dict[str, Any]]:
        """Start the next run on the pager's own thread (one run ahead at most)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="sfnotebook-report-next")
        return self._pool.submit(self.run, metadata)

    def close(self) -> None:
        """Wait for a run still in flight (a failure while it was sent) and end the thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _check_filters(self, metadata: Mapping[str, Any], needed: int) -> None:
        filters = list(metadata.get("reportFilters") or [])
        if len(filters) + needed > MAX_FILTERS:
            raise ReportPagingError(
                f"The report has {len(filters)} filters; paging past {ROW_LIMIT:,} rows needs "
                f"{needed} more and a run allows at most {MAX_FILTERS}. Remove a filter (or "
                "combine two, e.g. one 'equals' with a comma-separated list) and run it again.",
                report_id=self.report_id,
            )

    def page(
        self,
        base: dict[str, Any],
        level: int,
        *,
        first: dict[str, Any] | None = None,
        pre_seen: Counter[str],
    ) -> list[Sequence[Mapping[str, Any]]]:
        """Rows of ``base`` paged on ``chain[level]``, skipping the multiset ``pre_seen``."""
        cursor = self.chain[level]
        self._check_filters(base, 1)
        page_md = copy.deepcopy(base)
        page_md["sortBy"] = [{"sortColumn": cursor.column, "sortOrder": "Asc"}]
        at = self.columns.index(cursor.column)
        payload = first if first is not None else self.run(page_md)
        if level == 0:
            self.total = record_count(payload)
            if None not in (self.total, self.expected) and self.total != self.expected:
                raise IncompleteResultError(
                    f"The report's Record Count changed from {self.expected:,} to "
                    f"{self.total:,} while it was paged: its data changed meanwhile. No partial "
                    "result is returned; run it again.",
                    expected=self.expected,
                    received=None,
                )
        rows: list[Sequence[Mapping[str, Any]]] = []
        boundary: Counter[str] = Counter()  # rows already taken at the filter value
        last: str | None = None
        while True:
            page = [cells for _, cells in tabular_rows(payload)]
            self._check_unique(page)
            more = truncated(payload)
            ahead: Future[dict[str, Any]] | None = None
            if more:
                # The next run's filter is this run's last value: send it now, and keep this
                # run's rows (de-duplicated, converted) while it is in flight.
                values = [cursor_value(c[at], cursor.data_type) for c in page]
                present = [v for v in values if v]
                if not present:
                    raise self._stuck(cursor, None)
                value = present[-1]
                crowded = len(present) == len(page) and present[0] == value
                crowded = crowded and not cursor.unique
                if not crowded:
                    flt = {"column": cursor.column, "operator": cursor.operator, "value": value}
                    ahead = self._send(with_added_filter(page_md, flt))
            fresh = [c for c in page if self._is_new(c, at, cursor, last, boundary, pre_seen)]
            rows.extend(fresh)
            if self.on_page is not None:
                self.on_page(fresh)
            self.on_rows(len(fresh))
            if not more:
                return rows
            if ahead is not None:
                if self.dedup_at is None and not cursor.unique:
                    boundary = Counter(
                        _row_key(c) for c, v in zip(page, values, strict=True) if v == value
                    )
                last = value
                payload = ahead.result()
                continue
            # One value fills a whole run: page that value's rows on the next cursor.
            if level + 1 >= len(self.chain):
                raise self._stuck(cursor, value)
            self._check_filters(base, 2)
            taken = Counter(_row_key(c) for c in page) if self.dedup_at is None else Counter()
            same = with_added_filter(
                base, {"column": cursor.column, "operator": "equals", "value": value}
            )
            rows.extend(self.page(same, level + 1, pre_seen=taken))
            boundary, last = Counter(), value
            flt = {"column": cursor.column, "operator": "greaterThan", "value": value}
            payload = self.run(with_added_filter(page_md, flt))

    def _is_new(
        self,
        cells: Sequence[Mapping[str, Any]],
        at: int,
        cursor: Cursor,
        last: str | None,
        boundary: Counter[str],
        pre_seen: Counter[str],
    ) -> bool:
        if self.dedup_at is not None:
            rid = _value(cells[self.dedup_at])
            if rid in self.seen_ids:
                return False
            self.seen_ids.add(rid)
            return True
        if not boundary and not pre_seen:
            return True
        key = _row_key(cells)
        if (
            last is not None
            and boundary[key] > 0
            and cursor_value(cells[at], cursor.data_type) == last
        ):
            boundary[key] -= 1
            return False
        if pre_seen[key] > 0:
            pre_seen[key] -= 1
            return False
        return True

    def _check_unique(self, page: Sequence[Sequence[Mapping[str, Any]]]) -> None:
        """The record Id column must hold one Id per row; a repeat in one run disproves it."""
        if self.dedup_at is None:
            return
        ids = [_value(cells[self.dedup_at]) for cells in page]
        if len(set(ids)) != len(ids):
            column = self.columns[self.dedup_at]
            raise ReportPagingError(
                f"The column {column} looked like the report's record Id (one per row) but a "
                "run repeats its values, so it cannot tell rows apart while paging. Add the "
                "Id column of the report's own records (or filter the report to at most "
                f"{ROW_LIMIT:,} rows).",
                report_id=self.report_id,
            )

    def _stuck(self, cursor: Cursor, value: str | None) -> ReportPagingError:
        what = f"share the value {value!r}" if value is not None else "are blank"
        return ReportPagingError(
            f"Paging on {cursor.column} cannot go on: more than {ROW_LIMIT:,} rows {what} and "
            "no other column can split them. Add a column that tells those rows apart (Created "
            "Date, a number, or the record Id where the org allows range filters on Ids), or "
            "filter the report into smaller parts.",
            report_id=self.report_id,
        )


def truncated(payload: Mapping[str, Any]) -> bool:
    """Whether a run left detail rows out (``allData: false``, or the newer row-limit flag)."""
    return payload.get("allData") is False or payload.get("hasExceededTabularRowLimit") is True


def tabular_rows(payload: Mapping[str, Any]) -> list[DetailRow]:
    """The ``(labels, dataCells)`` rows of a TABULAR run (its ``T!T`` node)."""
    fact = (payload.get("factMap") or {}).get("T!T") or {}
    return [((), row.get("dataCells") or []) for row in fact.get("rows") or []]

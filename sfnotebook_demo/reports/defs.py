"""The demo org's report type and seeded report definitions (private to the reports feature).

One report type, ``Opportunity`` ("Opportunities"), over the SQLite tables ``Opportunity``
(alias ``o``) joined to ``Account`` (``a``) and ``User`` (``u``, the owner). Each
:class:`Column` knows the SQL that yields its stored value (and, for lookup-like columns, the
display label), its Salesforce report ``dataType`` and how it is filtered and sorted.

Value/label conventions follow real payloads (see :mod:`sfnotebook_demo.reports.endpoints`):
``OPPORTUNITY_NAME`` carries the Opportunity Id as ``value`` and the name as ``label``;
``ACCOUNT_NAME`` and ``FULL_NAME`` are lookups (value = Account / User Id). ``OPPORTUNITY_ID``
is an ``id`` column (value = the 18-character Id, or 15 under the ``report_id_cells`` dialect;
label = the 15-character Id the UI shows); keyset paging can use it only where the
``id_filter_operators`` dialect allows range filters on ids. ``Opportunity.Opportunity_Key__c``
is a *formula text* column (``CASESAFEID(Id)``): it is marked ``"isFormula": true`` in
``detailColumnInfo`` and in the report type's columns (a demo extension; real Salesforce only
tells through the field's ``calculated`` flag) and must never be used as a paging cursor:
text sorts ignoring case while text range filters compare case-sensitively (Salesforce's KB
says so of ``lessThan`` on a ``CASESAFEID`` formula), so the two disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sfnotebook_demo.data.schema import INDUSTRIES, LEAD_SOURCES, OPPORTUNITY_TYPES, RATINGS, STAGES
from sfnotebook_demo.ids import to_18

__all__ = [
    "COLUMNS",
    "FOLDERS",
    "REPORTS",
    "REPORT_TYPE",
    "Column",
    "ReportDef",
    "case_safe_id",
    "column",
    "report_by_id",
    "report_records",
]


def case_safe_id(id15: str) -> str:
    """The 18-character form of a 15-character Salesforce Id (unchanged when already 18)."""
    return to_18(id15) if len(id15) == 15 else id15


@dataclass(frozen=True)
class Column:
    """One column of the report type.

    ``value_sql`` yields the stored value; ``label_sql`` (lookups and name columns) the text
    the user sees, which is also what filters and sorting compare. ``date_only`` marks a
    datetime column whose cell value is the (GMT) date only, as observed for ``CREATED_DATE``.
    """

    name: str
    label: str
    data_type: str
    value_sql: str
    category: str = "Opportunity Information"
    label_sql: str | None = None
    is_lookup: bool = False
    entity_column_name: str | None = None
    is_custom: bool = False
    formula: bool = False
    scale: int = 0
    picklist_values: tuple[str, ...] = ()
    date_only: bool = False
    filterable: bool = True

    @property
    def compare_sql(self) -> str:
        """The SQL expression filters and sorting compare (the label for lookups)."""
        return self.label_sql or self.value_sql

    @property
    def is_text(self) -> bool:
        """Text (everything string-like but ids): equality and sorting ignore case."""
        return self.data_type in _TEXT_TYPES

    @property
    def is_numeric(self) -> bool:
        return self.data_type in ("currency", "double", "int", "percent")


_TEXT_TYPES = frozenset(
    {"string", "picklist", "textarea", "email", "phone", "url", "combobox", "multipicklist"}
)

_OPP = "Opportunity Information"
_ACC = "Account Information"
_OWN = "Opportunity Owner Information"
_CUS = "Opportunity: Custom Fields"

# Fiscal period of a CloseDate in the default fiscal year (starts in January): "Q3-2015".
_FISCAL_PERIOD = (
    "CASE WHEN o.CloseDate IS NULL THEN NULL ELSE "
    "'Q' || ((CAST(substr(o.CloseDate, 6, 2) AS INTEGER) + 2) / 3) || '-' || "
    "substr(o.CloseDate, 1, 4) END"
)

_COLUMN_LIST: tuple[Column, ...] = (
    Column("OPPORTUNITY_ID", "Opportunity ID", "id", "o.Id", _OPP,
           entity_column_name="Opportunity.Id"),
    Column("OPPORTUNITY_NAME", "Opportunity Name", "string", "o.Id", _OPP, label_sql="o.Name",
           entity_column_name="Opportunity.Name"),
    Column("ACCOUNT_NAME", "Account Name", "string", "o.AccountId", _ACC, label_sql="a.Name",
           is_lookup=True, entity_column_name="Account.Name"),
    Column("FULL_NAME", "Opportunity Owner", "string", "o.OwnerId", _OWN, label_sql="u.Name",
           is_lookup=True, entity_column_name="User.Name"),
    Column("AMOUNT", "Amount", "currency", "o.Amount", _OPP, scale=2,
           entity_column_name="Opportunity.Amount"),
    Column("EXP_AMOUNT", "Expected Revenue", "currency", "o.ExpectedRevenue", _OPP, scale=2,
           entity_column_name="Opportunity.ExpectedRevenue"),
    Column("PROBABILITY", "Probability (%)", "percent", "o.Probability", _OPP,
           entity_column_name="Opportunity.Probability"),
    Column("QUANTITY", "Quantity", "double", "o.TotalOpportunityQuantity", _OPP, scale=2,
           entity_column_name="Opportunity.TotalOpportunityQuantity"),
    Column("CLOSE_DATE", "Close Date", "date", "o.CloseDate", _OPP,
           entity_column_name="Opportunity.CloseDate"),
    Column("CREATED_DATE", "Created Date", "datetime", "o.CreatedDate", _OPP, date_only=True,
           entity_column_name="Opportunity.CreatedDate"),
    Column("LAST_UPDATE", "Last Modified Date", "datetime", "o.LastModifiedDate", _OPP,
           entity_column_name="Opportunity.LastModifiedDate"),
    Column("STAGE_NAME", "Stage", "picklist", "o.StageName", _OPP,
           picklist_values=tuple(STAGES), entity_column_name="Opportunity.StageName"),
    Column("TYPE", "Type", "picklist", "o.Type", _OPP, picklist_values=OPPORTUNITY_TYPES,
           entity_column_name="Opportunity.Type"),
    Column("LEAD_SOURCE", "Lead Source", "picklist", "o.LeadSource", _OPP,
           picklist_values=LEAD_SOURCES, entity_column_name="Opportunity.LeadSource"),
    Column("WON", "Won", "boolean", "o.IsWon", _OPP, entity_column_name="Opportunity.IsWon"),
    Column("CLOSED", "Closed", "boolean", "o.IsClosed", _OPP,
           entity_column_name="Opportunity.IsClosed"),
    Column("FISCAL_QUARTER", "Fiscal Period", "string", _FISCAL_PERIOD, _OPP,
           entity_column_name="Opportunity.Fiscal"),
    Column("NEXT_STEP", "Next Step", "string", "o.NextStep", _OPP,
           entity_column_name="Opportunity.NextStep"),
    Column("INDUSTRY", "Industry", "picklist", "a.Industry", _ACC, picklist_values=INDUSTRIES,
           entity_column_name="Account.Industry"),
    Column("RATING", "Account Rating", "picklist", "a.Rating", _ACC,
           picklist_values=RATINGS, entity_column_name="Account.Rating"),
    Column("Opportunity.Competitors__c", "Competitors", "multipicklist", "o.Competitors__c",
           _CUS, is_custom=True, entity_column_name="Opportunity.Competitors__c"),
    Column("Opportunity.Seats__c", "Seats", "int", "o.Seats__c", _CUS, is_custom=True,
           entity_column_name="Opportunity.Seats__c"),
    Column("Opportunity.Discount__c", "Discount", "percent", "o.Discount__c", _CUS, scale=2,
           is_custom=True, entity_column_name="Opportunity.Discount__c"),
    Column("Opportunity.Contract_Signed__c", "Contract Signed", "boolean",
           "o.Contract_Signed__c", _CUS, is_custom=True,
           entity_column_name="Opportunity.Contract_Signed__c"),
    Column("Opportunity.Follow_Up_Time__c", "Follow-Up Time", "time", "o.Follow_Up_Time__c",
           _CUS, is_custom=True, filterable=False,
           entity_column_name="Opportunity.Follow_Up_Time__c"),
    Column("Opportunity.Opportunity_Key__c", "Opportunity Key", "string", "o.Id", _CUS,
           is_custom=True, formula=True, entity_column_name="Opportunity.Opportunity_Key__c"),
)  # fmt: skip


COLUMNS: dict[str, Column] = {c.name: c for c in _COLUMN_LIST}

REPORT_TYPE = {"type": "Opportunity", "label": "Opportunities"}


def column(name: str) -> Column | None:
    """The report type's column called ``name`` (exact API name), or ``None``."""
    return COLUMNS.get(name)


# --- folders and reports ----------------------------------------------------------------------

_ORG_PART = "Dm00000"  # keeps every seeded id 15 characters: prefix(3) + 7 + number(5)


def _sfid(prefix: str, n: int) -> str:
    return case_safe_id(f"{prefix}{_ORG_PART}{n:05d}")


@dataclass(frozen=True)
class Folder:
    id: str
    name: str


FOLDERS: dict[str, Folder] = {
    f.name: f
    for f in (
        Folder(_sfid("00l", 1), "Sales Reports"),
        Folder(_sfid("00l", 2), "Marketing Reports"),
        Folder(_sfid("00l", 3), "Executive Reports"),
    )
}


@dataclass(frozen=True)
class ReportDef:
    """A saved report definition (what ``reportMetadata`` describes)."""

    id: str
    name: str
    developer_name: str
    folder: str
    format: str
    detail_columns: tuple[str, ...]
    aggregates: tuple[str, ...] = ("RowCount",)
    filters: tuple[dict[str, Any], ...] = ()
    boolean_filter: str | None = None
    sort_by: tuple[dict[str, str], ...] = ()
    groupings_down: tuple[dict[str, Any], ...] = ()
    groupings_across: tuple[dict[str, Any], ...] = ()
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def folder_id(self) -> str:
        return FOLDERS[self.folder].id


def _filter(column_: str, operator: str, value: str) -> dict[str, Any]:
    return {
        "column": column_,
        "filterType": "fieldValue",
        "isRunPageEditable": True,
        "operator": operator,
        "value": value,
    }


def _group(name: str, granularity: str = "None", order: str = "Asc") -> dict[str, Any]:
    return {"dateGranularity": granularity, "name": name, "sortAggregate": None, "sortOrder": order}


_TABULAR_COLUMNS = (
    "OPPORTUNITY_ID", "OPPORTUNITY_NAME", "ACCOUNT_NAME", "FULL_NAME", "AMOUNT", "PROBABILITY",
    "CLOSE_DATE", "CREATED_DATE", "LAST_UPDATE", "STAGE_NAME", "TYPE", "LEAD_SOURCE", "WON",
    "CLOSED", "FISCAL_QUARTER", "QUANTITY", "NEXT_STEP", "Opportunity.Competitors__c",
    "Opportunity.Opportunity_Key__c",
)  # fmt: skip

_REPORT_LIST: tuple[ReportDef, ...] = (
    ReportDef(
        _sfid("00O", 1),
        "All Opportunities",
        "All_Opportunities",
        "Sales Reports",
        "TABULAR",
        _TABULAR_COLUMNS,
        aggregates=("RowCount", "s!AMOUNT"),
        description="Every opportunity, open and closed (well over 2,000 rows).",
    ),
    ReportDef(
        _sfid("00O", 2),
        "Opportunities Closing in 2025",
        "Opportunities_Closing_2025",
        "Sales Reports",
        "TABULAR",
        _TABULAR_COLUMNS,
        aggregates=("RowCount", "s!AMOUNT"),
        filters=(
            _filter("CLOSE_DATE", "greaterOrEqual", "2025-01-01"),
            _filter("CLOSE_DATE", "lessOrEqual", "2025-12-31"),
        ),
        description="Opportunities closing in 2025 (~9,000 rows at the default size).",
    ),
    ReportDef(
        _sfid("00O", 3),
        "Opportunities by Formula Key",
        "Opportunities_by_Formula_Key",
        "Sales Reports",
        "TABULAR",
        (
            "Opportunity.Opportunity_Key__c",
            "OPPORTUNITY_NAME",
            "AMOUNT",
            "CLOSE_DATE",
            "STAGE_NAME",
        ),
        aggregates=("RowCount",),
        description="Over 2,000 rows whose only Id-like column is a formula text column.",
    ),
    ReportDef(
        _sfid("00O", 4),
        "Pipeline by Stage",
        "Pipeline_by_Stage",
        "Sales Reports",
        "SUMMARY",
        ("OPPORTUNITY_NAME", "ACCOUNT_NAME", "FULL_NAME", "AMOUNT", "CLOSE_DATE", "OPPORTUNITY_ID"),
        aggregates=("RowCount", "s!AMOUNT", "a!AMOUNT"),
        groupings_down=(_group("STAGE_NAME"),),
        sort_by=({"sortColumn": "AMOUNT", "sortOrder": "Desc"},),
    ),
    ReportDef(
        _sfid("00O", 5),
        "Closed Bookings by Industry, Year and Stage",
        "Closed_Bookings_by_Industry_Year_Stage",
        "Executive Reports",
        "SUMMARY",
        ("OPPORTUNITY_NAME", "ACCOUNT_NAME", "AMOUNT", "PROBABILITY", "CLOSE_DATE"),
        aggregates=("RowCount", "s!AMOUNT", "a!AMOUNT", "m!AMOUNT", "x!AMOUNT", "u!ACCOUNT_NAME"),
        filters=(_filter("CLOSED", "equals", "True"), _filter("AMOUNT", "greaterThan", "250000")),
        groupings_down=(
            _group("INDUSTRY"),
            _group("CLOSE_DATE", "FiscalYear", "Desc"),
            _group("STAGE_NAME"),
        ),
    ),
    ReportDef(
        _sfid("00O", 6),
        "Owner Bookings by Year",
        "Owner_Bookings_by_Year",
        "Executive Reports",
        "MATRIX",
        ("OPPORTUNITY_NAME", "AMOUNT", "STAGE_NAME", "CLOSE_DATE"),
        aggregates=("RowCount", "s!AMOUNT", "a!AMOUNT"),
        filters=(_filter("WON", "equals", "True"),),
        groupings_down=(_group("FULL_NAME"), _group("TYPE")),
        groupings_across=(_group("CLOSE_DATE", "Year"),),
    ),
    ReportDef(
        _sfid("00O", 7),
        "Source Quarterly Matrix",
        "Source_Quarterly_Matrix",
        "Executive Reports",
        "MATRIX",
        ("OPPORTUNITY_NAME", "ACCOUNT_NAME", "AMOUNT", "CLOSE_DATE"),
        aggregates=("RowCount", "s!AMOUNT", "x!AMOUNT"),
        filters=(
            _filter("CLOSE_DATE", "greaterOrEqual", "2024-01-01"),
            _filter("CLOSE_DATE", "lessOrEqual", "2025-12-31"),
        ),
        groupings_down=(_group("TYPE"), _group("LEAD_SOURCE")),
        groupings_across=(_group("CLOSE_DATE", "FiscalYear"), _group("FISCAL_QUARTER")),
    ),
    ReportDef(
        _sfid("00O", 8),
        "Open Pipeline",
        "Open_Pipeline",
        "Sales Reports",
        "TABULAR",
        (
            "OPPORTUNITY_ID",
            "OPPORTUNITY_NAME",
            "ACCOUNT_NAME",
            "AMOUNT",
            "CLOSE_DATE",
            "STAGE_NAME",
        ),
        aggregates=("RowCount", "s!AMOUNT"),
        filters=(_filter("CLOSED", "equals", "False"),),
        sort_by=({"sortColumn": "CLOSE_DATE", "sortOrder": "Asc"},),
    ),
    ReportDef(
        _sfid("00O", 9),
        "Open Pipeline",
        "Open_Pipeline_Marketing",
        "Marketing Reports",
        "TABULAR",
        (
            "OPPORTUNITY_ID",
            "OPPORTUNITY_NAME",
            "ACCOUNT_NAME",
            "AMOUNT",
            "LEAD_SOURCE",
            "CLOSE_DATE",
            "STAGE_NAME",
        ),
        aggregates=("RowCount", "s!AMOUNT"),
        filters=(
            _filter("CLOSED", "equals", "False"),
            _filter("LEAD_SOURCE", "equals", "Web,Advertisement"),
            _filter("AMOUNT", "greaterThan", "500000"),
        ),
        boolean_filter="1 AND (2 OR 3)",
    ),
)

REPORTS: dict[str, ReportDef] = {r.id: r for r in _REPORT_LIST}


def report_by_id(report_id: str) -> ReportDef | None:
    """The seeded report with this Id (15- or 18-character), or ``None``."""
    return REPORTS.get(case_safe_id(report_id))


def report_records() -> list[dict[str, Any]]:
    """The seeded reports as rows of Salesforce's read-only ``Report`` object.

    The demo database's ``Report`` table is seeded from these
    (:mod:`sfnotebook_demo.data.seed`), so ``SELECT Id, Name, DeveloperName, FolderName,
    Format FROM Report`` answers what the Reports API serves. ``OwnerId`` is the folder's Id.
    """
    return [
        {
            "Id": r.id,
            "Name": r.name,
            "DeveloperName": r.developer_name,
            "FolderName": r.folder,
            "Format": r.format.capitalize(),
            "Description": r.description,
            "OwnerId": r.folder_id,
        }
        for r in REPORTS.values()
    ]

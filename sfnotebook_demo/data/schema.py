"""The demo org's object model: which objects exist, their fields and relationships.

This is the single source of truth for the SQLite tables (:mod:`sfnotebook_demo.data.database`),
the describe endpoints (:mod:`sfnotebook_demo.rest.sobjects`) and the SOQL engine. Lookups by
name are case-insensitive, as in SOQL. The types (:class:`Field`, :class:`SObject`, ...) and
the storage of each field type are :mod:`sfnotebook_demo.data.model`.
"""

from __future__ import annotations

from typing import Any

from sfnotebook_demo.data.model import ChildRelationship, Field, SObject

__all__ = [
    "PERMISSIONS",
    "READ_ONLY",
    "REPORT_FORMATS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "get_sobject",
]

# Bump whenever a table's shape or the seeding changes: it keys the cached database files.
SCHEMA_VERSION = 4


# --- field builders -------------------------------------------------------------------------


def _id(label: str) -> Field:
    """The Id field; ``label`` is the object's (Task's is "Activity", as on Salesforce)."""
    return Field(
        "Id", f"{label} ID", "id", nillable=False, length=18, createable=False,
        updateable=False, id_lookup=True, defaulted_on_create=True,
    )  # fmt: skip


def _string(name: str, label: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, label, "string", length=length, **kw)


def _ref(name: str, label: str, to: tuple[str, ...], rel: str | None, **kw: Any) -> Field:
    return Field(name, label, "reference", reference_to=to, relationship_name=rel, length=18, **kw)


def _pick(name: str, label: str, values: tuple[str, ...], **kw: Any) -> Field:
    # Standard picklists are 40 characters long, custom ones 255 (as real describes show).
    length = 255 if kw.get("custom") else 40
    return Field(name, label, "picklist", picklist_values=values, length=length, **kw)


def _num(name: str, label: str, type_: str, precision: int, scale: int, **kw: Any) -> Field:
    return Field(name, label, type_, precision=precision, scale=scale, **kw)


def _bool(name: str, label: str, **kw: Any) -> Field:
    kw.setdefault("defaulted_on_create", True)
    return Field(name, label, "boolean", nillable=False, **kw)


def _system(owner: bool = True) -> tuple[Field, ...]:
    """IsDeleted, audit fields and (optionally) OwnerId, as every standard object has them."""
    ro: dict[str, Any] = {"createable": False, "updateable": False, "defaulted_on_create": True}
    fields = [
        _bool("IsDeleted", "Deleted", **ro),
        Field("CreatedDate", "Created Date", "datetime", nillable=False, **ro),
        _ref("CreatedById", "Created By ID", ("User",), "CreatedBy", nillable=False, **ro),
        Field("LastModifiedDate", "Last Modified Date", "datetime", nillable=False, **ro),
        _ref("LastModifiedById", "Last Modified By ID", ("User",), "LastModifiedBy",
             nillable=False, **ro),
        Field("SystemModstamp", "System Modstamp", "datetime", nillable=False, **ro),
    ]  # fmt: skip
    if owner:
        owner_id = _ref(
            "OwnerId", "Owner ID", ("User",), "Owner", nillable=False, defaulted_on_create=True
        )
        fields.insert(1, owner_id)
    return tuple(fields)


def _address(prefix: str, label: str) -> tuple[Field, ...]:
    compound = f"{prefix}Address"
    c: dict[str, Any] = {"compound_field_name": compound}
    return (
        Field(f"{prefix}Street", f"{label} Street", "textarea", length=255,
              extra_type_info="plaintextarea", **c),
        _string(f"{prefix}City", f"{label} City", 40, **c),
        _string(f"{prefix}State", f"{label} State/Province", 80, **c),
        _string(f"{prefix}PostalCode", f"{label} Zip/Postal Code", 20, **c),
        _string(f"{prefix}Country", f"{label} Country", 80, **c),
        _num(f"{prefix}Latitude", f"{label} Latitude", "double", 18, 15, **c),
        _num(f"{prefix}Longitude", f"{label} Longitude", "double", 18, 15, **c),
        _pick(f"{prefix}GeocodeAccuracy", f"{label} Geocode Accuracy",
              ("Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip",
               "Neighborhood", "City", "County", "State", "Unknown"),
              restricted_picklist=True, **c),
        Field(compound, f"{label} Address", "address", createable=False, updateable=False),
    )  # fmt: skip


# --- picklists ------------------------------------------------------------------------------

INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
    "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
    "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
    "Utilities", "Other",
)  # fmt: skip
ACCOUNT_TYPES = (
    "Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
    "Installation Partner", "Technology Partner", "Other",
)  # fmt: skip
RATINGS = ("Hot", "Warm", "Cold")
OWNERSHIP = ("Public", "Private", "Subsidiary", "Other")
TIERS = ("Platinum", "Gold", "Silver", "Bronze")
LEAD_SOURCES = (
    "Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", "Advertisement",
    "Employee Referral", "External Referral", "Trade Show", "Word of mouth",
)  # fmt: skip
# StageName -> (default Probability, ForecastCategoryName, IsClosed, IsWon)
STAGES: dict[str, tuple[float, str, bool, bool]] = {
    "Prospecting": (10.0, "Pipeline", False, False),
    "Qualification": (10.0, "Pipeline", False, False),
    "Needs Analysis": (20.0, "Pipeline", False, False),
    "Value Proposition": (50.0, "Pipeline", False, False),
    "Id. Decision Makers": (60.0, "Pipeline", False, False),
    "Perception Analysis": (70.0, "Pipeline", False, False),
    "Proposal/Price Quote": (75.0, "Best Case", False, False),
    "Negotiation/Review": (90.0, "Commit", False, False),
    "Closed Won": (100.0, "Closed", True, True),
    "Closed Lost": (0.0, "Omitted", True, False),
}
FORECAST_CATEGORIES = ("Omitted", "Pipeline", "Best Case", "Commit", "Closed")
OPPORTUNITY_TYPES = ("Existing Customer - Upgrade", "Existing Customer - Replacement",
                     "Existing Customer - Downgrade", "New Customer")  # fmt: skip
COMPETITORS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries",
               "Wayne Enterprises")  # fmt: skip
SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx.")
CONTACT_LEVELS = ("Primary", "Secondary", "Tertiary")
CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CASE_PRIORITIES = ("High", "Medium", "Low")
CASE_ORIGINS = ("Phone", "Email", "Web")
CASE_REASONS = ("Installation", "Equipment Complexity", "Performance", "Breakdown",
                "Equipment Design", "Feedback", "Other")  # fmt: skip
CASE_TYPES = ("Mechanical", "Electrical", "Electronic", "Structural", "Other")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
TASK_PRIORITIES = ("High", "Normal", "Low")
TASK_TYPES = ("Call", "Email", "Meeting", "Other")
TASK_SUBTYPES = ("Task", "Email", "Call")
TIME_ZONES = ("America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Paris",
              "Asia/Tokyo", "Australia/Sydney")  # fmt: skip
DEPARTMENTS = ("Sales", "Marketing", "Support", "Finance", "Engineering", "Operations")


# --- objects --------------------------------------------------------------------------------

_USER = SObject(
    "User", "User", "Users", "005",
    (
        _id("User"),
        _string("Username", "Username", 80, nillable=False, unique=True, id_lookup=True),
        _string("LastName", "Last Name", 80, nillable=False, compound_field_name="Name"),
        _string("FirstName", "First Name", 40, compound_field_name="Name"),
        _string("Name", "Full Name", 121, nillable=False, name_field=True, createable=False,
                updateable=False),
        _string("Alias", "Alias", 8, nillable=False),
        Field("Email", "Email", "email", length=128, nillable=False),
        _string("Title", "Title", 80),
        _string("Department", "Department", 80),
        _string("CompanyName", "Company Name", 80),
        Field("Phone", "Phone", "phone", length=40),
        _bool("IsActive", "Active"),
        _ref("ManagerId", "Manager ID", ("User",), "Manager"),
        _pick("TimeZoneSidKey", "Time Zone", TIME_ZONES, nillable=False),
        Field("LastLoginDate", "Last Login", "datetime", createable=False, updateable=False),
        *_system(owner=False),
    ),
    (
        ChildRelationship("ManagedUsers", "User", "ManagerId"),
        ChildRelationship(None, "Account", "OwnerId"),
        ChildRelationship(None, "Contact", "OwnerId"),
        ChildRelationship(None, "Opportunity", "OwnerId"),
        ChildRelationship(None, "Case", "OwnerId"),
        ChildRelationship(None, "Task", "OwnerId"),
        ChildRelationship("PermissionSetAssignments", "PermissionSetAssignment", "AssigneeId"),
    ),
)  # fmt: skip

_ACCOUNT = SObject(
    "Account", "Account", "Accounts", "001",
    (
        _id("Account"),
        _string("Name", "Account Name", 255, nillable=False, name_field=True),
        _pick("Type", "Account Type", ACCOUNT_TYPES),
        _ref("ParentId", "Parent Account ID", ("Account",), "Parent"),
        *_address("Billing", "Billing"),
        Field("Phone", "Account Phone", "phone", length=40),
        Field("Fax", "Account Fax", "phone", length=40),
        _string("AccountNumber", "Account Number", 40),
        Field("Website", "Website", "url", length=255),
        _string("Sic", "SIC Code", 20),
        _pick("Industry", "Industry", INDUSTRIES),
        _num("AnnualRevenue", "Annual Revenue", "currency", 18, 0),
        Field("NumberOfEmployees", "Employees", "int", digits=8),
        _pick("Ownership", "Ownership", OWNERSHIP),
        _string("TickerSymbol", "Ticker Symbol", 20),
        Field("Description", "Account Description", "textarea", length=32000,
              extra_type_info="plaintextarea"),
        _pick("Rating", "Account Rating", RATINGS),
        Field("LastActivityDate", "Last Activity", "date", createable=False, updateable=False),
        _pick("Tier__c", "Tier", TIERS, custom=True),
        Field("Customer_Since__c", "Customer Since", "date", custom=True),
        _num("HQ_Location__Latitude__s", "HQ Location (Latitude)", "double", 3, 15,
             custom=True, compound_field_name="HQ_Location__c"),
        _num("HQ_Location__Longitude__s", "HQ Location (Longitude)", "double", 3, 15,
             custom=True, compound_field_name="HQ_Location__c"),
        Field("HQ_Location__c", "HQ Location", "location", custom=True),
        *_system(),
    ),
    (
        ChildRelationship("ChildAccounts", "Account", "ParentId"),
        ChildRelationship("Cases", "Case", "AccountId"),
        ChildRelationship("Contacts", "Contact", "AccountId", cascade_delete=True),
        ChildRelationship("Opportunities", "Opportunity", "AccountId", cascade_delete=True),
        ChildRelationship("Tasks", "Task", "WhatId", cascade_delete=True),
    ),
)  # fmt: skip

_CONTACT = SObject(
    "Contact", "Contact", "Contacts", "003",
    (
        _id("Contact"),
        _ref("AccountId", "Account ID", ("Account",), "Account"),
        _string("LastName", "Last Name", 80, nillable=False, compound_field_name="Name"),
        _string("FirstName", "First Name", 40, compound_field_name="Name"),
        _pick("Salutation", "Salutation", SALUTATIONS, compound_field_name="Name"),
        _string("Name", "Full Name", 121, nillable=False, name_field=True, createable=False,
                updateable=False),
        *_address("Mailing", "Mailing"),
        Field("Phone", "Business Phone", "phone", length=40),
        Field("MobilePhone", "Mobile Phone", "phone", length=40),
        Field("Email", "Email", "email", length=80, id_lookup=True),
        _string("Title", "Title", 128),
        _string("Department", "Department", 80),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        Field("Birthdate", "Birthdate", "date"),
        _ref("ReportsToId", "Reports To ID", ("Contact",), "ReportsTo"),
        _bool("HasOptedOutOfEmail", "Email Opt Out"),
        _bool("DoNotCall", "Do Not Call"),
        Field("Description", "Contact Description", "textarea", length=32000,
              extra_type_info="plaintextarea"),
        Field("LastActivityDate", "Last Activity", "date", createable=False, updateable=False),
        _string("Languages__c", "Languages", 100, custom=True),
        _pick("Level__c", "Level", CONTACT_LEVELS, custom=True),
        # A custom external id (Text, External ID, Unique) for upserts: Salesforce marks such a
        # field externalId, idLookup and unique in describe; standard Contact has none.
        _string("External_Id__c", "External Id", 40, custom=True, external_id=True,
                unique=True, id_lookup=True),
        *_system(),
    ),
    (
        ChildRelationship("Cases", "Case", "ContactId"),
        ChildRelationship(None, "Contact", "ReportsToId"),
        ChildRelationship("Tasks", "Task", "WhoId", cascade_delete=True),
    ),
)  # fmt: skip

_OPPORTUNITY = SObject(
    "Opportunity", "Opportunity", "Opportunities", "006",
    (
        _id("Opportunity"),
        _ref("AccountId", "Account ID", ("Account",), "Account"),
        _bool("IsPrivate", "Private"),
        _string("Name", "Name", 120, nillable=False, name_field=True),
        Field("Description", "Description", "textarea", length=32000,
              extra_type_info="plaintextarea"),
        _pick("StageName", "Stage", tuple(STAGES), nillable=False),
        _num("Amount", "Amount", "currency", 18, 2),
        _num("Probability", "Probability (%)", "percent", 3, 0),
        _num("ExpectedRevenue", "Expected Amount", "currency", 18, 2, calculated=True,
             createable=False, updateable=False),
        _num("TotalOpportunityQuantity", "Quantity", "double", 18, 2),
        Field("CloseDate", "Close Date", "date", nillable=False),
        _pick("Type", "Opportunity Type", OPPORTUNITY_TYPES),
        _string("NextStep", "Next Step", 255),
        _pick("LeadSource", "Lead Source", LEAD_SOURCES),
        _bool("IsClosed", "Closed", createable=False, updateable=False),
        _bool("IsWon", "Won", createable=False, updateable=False),
        _pick("ForecastCategoryName", "Forecast Category", FORECAST_CATEGORIES),
        Field("FiscalQuarter", "Fiscal Quarter", "int", digits=11, createable=False,
              updateable=False),
        Field("FiscalYear", "Fiscal Year", "int", digits=11, createable=False,
              updateable=False),
        _string("Fiscal", "Fiscal Period", 6, createable=False, updateable=False),
        Field("LastActivityDate", "Last Activity", "date", createable=False, updateable=False),
        Field("Competitors__c", "Competitors", "multipicklist", picklist_values=COMPETITORS,
              length=4099, custom=True),
        Field("Follow_Up_Time__c", "Follow-Up Time", "time", custom=True),
        _num("Discount__c", "Discount", "percent", 5, 2, custom=True),
        Field("Seats__c", "Seats", "int", digits=9, custom=True),
        _bool("Contract_Signed__c", "Contract Signed", custom=True),
        Field("Next_Call__c", "Next Call", "datetime", custom=True),
        *_system(),
    ),
    (ChildRelationship("Tasks", "Task", "WhatId", cascade_delete=True),),
)  # fmt: skip

_CASE = SObject(
    "Case", "Case", "Cases", "500",
    (
        _id("Case"),
        _string("CaseNumber", "Case Number", 30, nillable=False, auto_number=True,
                name_field=True, createable=False, updateable=False, id_lookup=True),
        _ref("ContactId", "Contact ID", ("Contact",), "Contact"),
        _ref("AccountId", "Account ID", ("Account",), "Account"),
        Field("SuppliedName", "Name", "string", length=80),
        Field("SuppliedEmail", "Email Address", "email", length=80),
        Field("SuppliedPhone", "Phone", "phone", length=40),
        _pick("Type", "Case Type", CASE_TYPES),
        _pick("Status", "Status", CASE_STATUSES, default_picklist_value="New"),
        _pick("Reason", "Case Reason", CASE_REASONS),
        _pick("Origin", "Case Origin", CASE_ORIGINS),
        _string("Subject", "Subject", 255),
        _pick("Priority", "Priority", CASE_PRIORITIES, default_picklist_value="Medium"),
        Field("Description", "Description", "textarea", length=32000,
              extra_type_info="plaintextarea"),
        _bool("IsClosed", "Closed", createable=False, updateable=False),
        Field("ClosedDate", "Closed Date", "datetime", createable=False, updateable=False),
        _bool("IsEscalated", "Escalated"),
        *_system(),
    ),
    (ChildRelationship(None, "Task", "WhatId"),),
)  # fmt: skip

_TASK = SObject(
    "Task", "Task", "Tasks", "00T",
    (
        _id("Activity"),
        _ref("WhoId", "Name ID", ("Contact",), "Who", polymorphic=True),
        _ref("WhatId", "Related To ID", ("Account", "Opportunity"), "What"),
        _string("Subject", "Subject", 255, name_field=True),
        Field("ActivityDate", "Due Date Only", "date"),
        _pick("Status", "Status", TASK_STATUSES, nillable=False,
              default_picklist_value="Not Started"),
        _pick("Priority", "Priority", TASK_PRIORITIES, nillable=False,
              default_picklist_value="Normal"),
        _bool("IsHighPriority", "High Priority", createable=False, updateable=False),
        Field("Description", "Description", "textarea", length=32000,
              extra_type_info="plaintextarea"),
        _pick("Type", "Type", TASK_TYPES),
        _bool("IsClosed", "Closed", createable=False, updateable=False),
        Field("CallDurationInSeconds", "Call Duration", "int", digits=8),
        _pick("TaskSubtype", "Task Subtype", TASK_SUBTYPES),
        Field("CompletedDateTime", "Completed Date/Time", "datetime", createable=False,
              updateable=False),
        *_system(),
    ),
)  # fmt: skip

# The Report object: the org's reports, read-only (query only). Fields from the object
# reference (developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_report.htm
# and the field reference's table: Name 40, DeveloperName 80, Format a restricted picklist of
# Tabular / Summary / Matrix / MultiBlock, OwnerId labelled "Folder": the folder's Id, or a
# user's for a private folder); NamespacePrefix is left out (no demo report belongs to a
# package). Its rows are the demo's report definitions (sfnotebook_demo.reports.defs).
_RO: dict[str, Any] = {"createable": False, "updateable": False}
REPORT_FORMATS = ("Tabular", "Summary", "Matrix", "MultiBlock")

_REPORT = SObject(
    "Report", "Report", "Reports", "00O",
    (
        _id("Report"),
        _ref("OwnerId", "Folder ID", ("Folder", "Organization", "User"), "Owner",
             nillable=False, **_RO),
        _string("Name", "Report Name", 40, nillable=False, name_field=True, **_RO),
        _string("Description", "Description", 255, **_RO),
        _string("DeveloperName", "Report Unique Name", 80, nillable=False, **_RO),
        _string("FolderName", "Folder Name", 255, **_RO),
        _pick("Format", "Format", REPORT_FORMATS, nillable=False, restricted_picklist=True,
              defaulted_on_create=True, **_RO),
        Field("LastRunDate", "Last Run", "datetime", **_RO),
        Field("LastViewedDate", "Last Viewed Date", "datetime", **_RO),
        Field("LastReferencedDate", "Last Referenced Date", "datetime", **_RO),
        *_system(owner=False),
    ),
)  # fmt: skip

# PermissionSet and PermissionSetAssignment, read-only here (query and describe only), so that
# a client can read the running user's permissions as on a real org, where every profile owns
# a permission set (IsOwnedByProfile true, ProfileId its profile's Id) and the assignments
# include the profile's. Fields from the object reference (developer.salesforce.com/docs/
# atlas.en-us.api.meta/api/sforce_api_objects_permissionset.htm: Name and Label 80,
# IsOwnedByProfile and ProfileId from API 25.0, one boolean PermissionsXxx field per permission;
# .../sforce_api_objects_permissionsetassignment.htm: AssigneeId, relationship Assignee, to
# User; PermissionSetId, nillable (an assignment may name a permission set group instead)) and
# the field reference's labels. Key prefixes 0PS and 0Pa as on Salesforce. Only the five
# permissions sfnotebook reads are modelled; PermissionSetGroupId, ExpirationDate, IsRevoked
# and the permission set's Description, License and Type are left out. An assignment has no
# Created/LastModified audit fields on Salesforce (SystemModstamp is "Date Assigned"); the
# demo keeps IsDeleted on it because its SOQL engine filters every table on that column.
# Label as the name field is the demo's choice. The demo has no Profile object: a ProfileId
# names an Id with Profile's key prefix (00e).
PERMISSIONS = ("ApiEnabled", "ViewSetup", "RunReports", "ViewAllData", "BulkApiHardDelete")
_PERMISSION_LABELS = {
    "ApiEnabled": "API Enabled",
    "ViewSetup": "View Setup and Configuration",
    "RunReports": "Run Reports",
    "ViewAllData": "View All Data",
    "BulkApiHardDelete": "Bulk API Hard Delete",
}

_PERMISSION_SET = SObject(
    "PermissionSet", "Permission Set", "Permission Sets", "0PS",
    (
        _id("PermissionSet"),
        _string("Name", "Permission Set Name", 80, nillable=False, **_RO),
        _string("Label", "Permission Set Label", 80, nillable=False, name_field=True, **_RO),
        _bool("IsOwnedByProfile", "Is Owned By Profile", **_RO),
        _ref("ProfileId", "Profile ID", ("Profile",), "Profile", **_RO),
        *(_bool(f"Permissions{p}", _PERMISSION_LABELS[p], **_RO) for p in PERMISSIONS),
        *_system(owner=False),
    ),
    (ChildRelationship("Assignments", "PermissionSetAssignment", "PermissionSetId"),),
)  # fmt: skip

_PERMISSION_SET_ASSIGNMENT = SObject(
    "PermissionSetAssignment", "Permission Set Assignment", "Permission Set Assignments", "0Pa",
    (
        _id("Permission Set Assignment"),
        _ref("AssigneeId", "Assignee ID", ("User",), "Assignee", nillable=False, **_RO),
        _ref("PermissionSetId", "Permission Set ID", ("PermissionSet",), "PermissionSet",
             **_RO),
        _bool("IsDeleted", "Deleted", createable=False, updateable=False),
        Field("SystemModstamp", "Date Assigned", "datetime", nillable=False,
              defaulted_on_create=True, **_RO),
    ),
)  # fmt: skip

SCHEMA: dict[str, SObject] = {
    o.name: o
    for o in (
        _USER, _ACCOUNT, _CONTACT, _OPPORTUNITY, _CASE, _TASK, _REPORT, _PERMISSION_SET,
        _PERMISSION_SET_ASSIGNMENT,
    )
}  # fmt: skip

#: Objects whose access is read-only (the object reference says so of Report; the demo
#: serves the permission objects read-only too: it has no Setup to change them).
READ_ONLY = frozenset({"Report", "PermissionSet", "PermissionSetAssignment"})

_BY_LOWER = {name.lower(): o for name, o in SCHEMA.items()}


def get_sobject(name: str) -> SObject | None:
    """The object called ``name`` (case-insensitive), or ``None``."""
    return _BY_LOWER.get(name.lower())

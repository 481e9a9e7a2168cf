"""Describe and record resources of the demo org (reference §7).

* ``GET /services/data/vXX.X/sobjects``: global describe.
* ``GET /services/data/vXX.X/sobjects/{Object}/describe``: full object describe; honours
  ``If-Modified-Since`` (304, no body, when unchanged) and, under the dialect's
  ``describe_last_modified=sent``, dates its answer with ``Last-Modified``.
* ``GET /services/data/vXX.X/sobjects/{Object}``: ``objectDescribe`` + ``recentItems``.
* ``GET /services/data/vXX.X/sobjects/{Object}/{Id}``: one record as REST JSON
  (``?fields=A,B`` to choose fields).

Payloads carry every key a real describe carries (compared with recorded describes), derived
from :mod:`sfnotebook_demo.data.schema`. Object names in paths are case-insensitive, as on
Salesforce.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from sfnotebook_demo.data.model import Field, SObject
from sfnotebook_demo.data.schema import READ_ONLY, SCHEMA, get_sobject
from sfnotebook_demo.dialect import dialect_of
from sfnotebook_demo.http import Request, Response, Router, error_response, json_response
from sfnotebook_demo.ids import restore_case, to_18
from sfnotebook_demo.state import OrgState

__all__ = ["describe_field", "describe_object", "global_describe", "record_json", "register"]

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "address": "urn:address",
    "location": "urn:location",
}
_TEXT_TYPES = frozenset(
    {"id", "reference", "string", "picklist", "multipicklist", "textarea", "email", "phone",
     "url", "combobox"}
)  # fmt: skip
# Types that cannot be grouped on (Salesforce: floating point, datetime, long text, compounds).
_NOT_GROUPABLE = frozenset(
    {"double", "currency", "percent", "datetime", "time", "multipicklist", "address", "location"}
)
_ID = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
_RECENT_ITEMS = 5

# The standard "Master" record type every object without record types reports.
_MASTER_RECORD_TYPE = "012000000000000AAA"


def _long_text(f: Field) -> bool:
    return f.type == "textarea" and f.length > 255


def describe_field(f: Field) -> dict[str, Any]:
    """One entry of ``fields[]`` in an object describe."""
    text = f.type in _TEXT_TYPES
    long_text = _long_text(f)
    compound = not f.stored
    sortable = not (long_text or compound or f.type == "multipicklist")
    return {
        "aggregatable": not (long_text or compound or f.type in ("boolean", "multipicklist")),
        "aiPredictionField": False,
        "autoNumber": f.auto_number,
        "byteLength": f.length * 3 if text and f.type not in ("id", "reference") else f.length,
        "calculated": f.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": f.compound_field_name,
        "controllerName": None,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": False if f.type == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.defaulted_on_create or f.type == "boolean",
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": f.digits,
        "displayLocationInDecimal": f.type == "location",
        "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": f.extra_type_info,
        "filterable": not long_text,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": not (long_text or f.type in _NOT_GROUPABLE),
        "highScaleNumber": False,
        "htmlFormatted": f.html_formatted,
        "idLookup": f.id_lookup,
        "inlineHelpText": f.inline_help_text,
        "label": f.label,
        "length": f.length,
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": f.polymorphic_foreign_key,
        "nillable": f.nillable,
        "permissionable": f.nillable and (f.createable or f.updateable or compound),
        "picklistValues": [
            {
                "active": True,
                "defaultValue": value == f.default_picklist_value,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in f.picklist_values
        ],
        "polymorphicForeignKey": f.polymorphic_foreign_key,
        "precision": f.precision,
        "queryByDistance": compound,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": f.restricted_picklist,
        "scale": f.scale,
        "searchPrefilterable": f.type == "reference" and f.nillable,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": sortable,
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


def _urls(obj: SObject, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def _basic(obj: SObject, version: str) -> dict[str, Any]:
    """The keys shared by global describe entries, ``objectDescribe`` and full describes."""
    user = obj.name == "User"
    read_only = obj.name in READ_ONLY  # Report: "Access is read-only" (object reference)
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": not read_only,
        "custom": obj.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": not (user or read_only),
        "deprecatedAndHidden": False,
        "feedEnabled": True,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": True,
        "mergeable": obj.name in ("Account", "Contact", "Case"),
        "mruEnabled": True,
        "name": obj.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": not (user or read_only),
        "updateable": not read_only,
        "urls": _urls(obj, version),
    }


@functools.lru_cache(maxsize=256)
def _describe_cached(name: str, version: str) -> dict[str, Any]:
    obj = SCHEMA[name]
    payload = _basic(obj, version)
    payload.update(
        actionOverrides=[],
        childRelationships=[
            {
                "cascadeDelete": c.cascade_delete,
                "childSObject": c.child_object,
                "deprecatedAndHidden": False,
                "field": c.field,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": c.name,
                "restrictedDelete": False,
            }
            for c in obj.child_relationships
        ],
        compactLayoutable=True,
        defaultImplementation=None,
        extendedBy=None,
        extendsInterfaces=None,
        fields=[describe_field(f) for f in obj.fields],
        implementedBy=None,
        implementsInterfaces=None,
        listviewable=None,
        lookupLayoutable=None,
        namedLayoutInfos=[],
        networkScopeFieldName=None,
        recordTypeInfos=[
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": _MASTER_RECORD_TYPE,
                "urls": {
                    "layout": f"/services/data/v{version}/sobjects/{obj.name}/describe/layouts/"
                    f"{_MASTER_RECORD_TYPE}"
                },
            }
        ],
        searchLayoutable=True,
        sobjectDescribeOption="FULL",
        supportedScopes=[
            {"label": f"All {obj.label_plural.lower()}", "name": "everything"},
            {"label": f"My {obj.label_plural.lower()}", "name": "mine"},
        ],
    )
    return payload


def describe_object(obj: SObject, version: str) -> dict[str, Any]:
    """The full describe of ``obj`` as ``/sobjects/{Object}/describe`` returns it."""
    return _describe_cached(obj.name, version)


def global_describe(version: str) -> dict[str, Any]:
    """The body of ``GET /sobjects``."""
    entries = []
    for obj in sorted(SCHEMA.values(), key=lambda o: o.name):
        entry = _basic(obj, version)
        entry["urls"] = {k: entry["urls"][k] for k in ("rowTemplate", "defaultValues",
                                                         "describe", "sobject")}  # fmt: skip
        entries.append(entry)
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": entries}


def _json_value(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.type == "boolean":
        return bool(value)
    return value


def record_json(
    obj: SObject, row: dict[str, Any], version: str, fields: list[Field] | None = None
) -> dict[str, Any]:
    """One stored row as the record resource returns it (compound fields as objects)."""
    out: dict[str, Any] = {
        "attributes": {
            "type": obj.name,
            "url": f"/services/data/v{version}/sobjects/{obj.name}/{row['Id']}",
        }
    }
    for f in fields or obj.fields:
        if f.stored:
            out[f.name] = _json_value(f, row[f.name])
        else:
            out[f.name] = _compound_json(obj, f, row)
    return out


def _compound_json(obj: SObject, f: Field, row: dict[str, Any]) -> dict[str, Any] | None:
    parts = {c.name: row[c.name] for c in obj.components(f.name)}
    if all(v is None for v in parts.values()):
        return None
    if f.type == "location":
        lat = next(v for k, v in parts.items() if k.endswith("Latitude__s"))
        lon = next(v for k, v in parts.items() if k.endswith("Longitude__s"))
        return {"latitude": lat, "longitude": lon}
    prefix = f.name[: -len("Address")]
    keys = {
        "city": "City",
        "country": "Country",
        "geocodeAccuracy": "GeocodeAccuracy",
        "latitude": "Latitude",
        "longitude": "Longitude",
        "postalCode": "PostalCode",
        "state": "State",
        "street": "Street",
    }
    return {key: parts.get(prefix + suffix) for key, suffix in keys.items()}


# When the demo's objects last changed: its schema is fixed in code (SCHEMA), so every object
# was last modified when this version of it was written, long before any server started.
SCHEMA_MODIFIED = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp()


def _http_date(text: str | None) -> float | None:
    """An HTTP date (``EEE, dd MMM yyyy HH:mm:ss z``) as a POSIX time, or None if it is not one."""
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)).timestamp()


def _not_found() -> Response:
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")


def register(router: Router, org: OrgState) -> None:
    """Add the describe and record routes."""

    def sobject_or_404(name: str) -> SObject | Response:
        obj = get_sobject(name)
        return obj if obj is not None else _not_found()

    def handle_global(request: Request) -> Response:
        return json_response(global_describe(request.api_version or ""))

    def handle_describe(request: Request, sobject: str) -> Response:
        obj = sobject_or_404(sobject)
        if isinstance(obj, Response):
            return obj
        modified = SCHEMA_MODIFIED
        headers = {}
        if dialect_of(org).describe_last_modified == "sent":
            headers["Last-Modified"] = formatdate(modified, usegmt=True)
        since = _http_date(request.header("If-Modified-Since"))
        if since is not None and modified <= since:
            # "If the metadata has not been modified since the provided date, a 304 Not
            # Modified status code is returned, with no response body" (REST API Developer
            # Guide, Get Object Metadata Changes).
            return Response(status=304, body=b"", headers=headers)
        return json_response(describe_object(obj, request.api_version or ""), headers=headers)

    def handle_basic(request: Request, sobject: str) -> Response:
        obj = sobject_or_404(sobject)
        if isinstance(obj, Response):
            return obj
        version = request.api_version or ""
        name_field = next((f.name for f in obj.fields if f.name_field), "Id")
        # An assignment has SystemModstamp ("Date Assigned") and no LastModifiedDate.
        changed = "LastModifiedDate" if obj.field("LastModifiedDate") else "SystemModstamp"
        rows = (
            org.database.connect()
            .execute(
                f'SELECT "Id", "{name_field}" FROM "{obj.name}" WHERE "IsDeleted" = 0 '  # noqa: S608 - names from SCHEMA
                f'ORDER BY "{changed}" DESC, "Id" LIMIT ?',
                (_RECENT_ITEMS,),
            )
            .fetchall()
        )
        recent = [
            {
                "attributes": {
                    "type": obj.name,
                    "url": f"/services/data/v{version}/sobjects/{obj.name}/{rid}",
                },
                "Id": rid,
                name_field: name,
            }
            for rid, name in rows
        ]
        return json_response({"objectDescribe": _basic(obj, version), "recentItems": recent})

    def handle_record(request: Request, sobject: str, record_id: str) -> Response:
        obj = sobject_or_404(sobject)
        if isinstance(obj, Response):
            return obj
        if not _ID.match(record_id):
            return error_response(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {record_id}",
            )
        full_id = to_18(record_id) if len(record_id) == 15 else restore_case(record_id)
        chosen: list[Field] | None = None
        if request.query.get("fields"):
            chosen = []
            for name in request.query["fields"].split(","):
                f = obj.field(name.strip())
                if f is None:
                    return error_response(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name.strip()}' on sobject of type {obj.name}",
                    )
                chosen.append(f)
        conn = org.database.connect()
        cursor = conn.execute(
            f'SELECT * FROM "{obj.name}" WHERE "Id" = ?',  # noqa: S608 - name from SCHEMA
            (full_id,),
        )
        found = cursor.fetchone()
        if found is None or not found[0].startswith(obj.key_prefix):
            return _not_found()
        row = dict(zip([d[0] for d in cursor.description], found, strict=True))
        if row.get("IsDeleted"):
            return error_response(404, "ENTITY_IS_DELETED", "entity is deleted")
        return json_response(record_json(obj, row, request.api_version or "", chosen))

    router.add("GET", r"/services/data/{v}/sobjects/?", handle_global)
    router.add("GET", r"/services/data/{v}/sobjects/(?P<sobject>\w+)/describe/?", handle_describe)
    router.add("GET", r"/services/data/{v}/sobjects/(?P<sobject>\w+)/?", handle_basic)
    router.add(
        "GET",
        r"/services/data/{v}/sobjects/(?P<sobject>\w+)/(?P<record_id>[^/]+)/?",
        handle_record,
    )

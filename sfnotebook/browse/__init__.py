"""Browse the org as DataFrames: its objects, an object's fields, a picklist, the limits.

``org.objects()``, ``org.fields("Account")``, ``org.picklist("Opportunity", "StageName")`` and
``org.limits()`` return pandas DataFrames that a notebook shows as captioned tables;
``org.describe("Account")`` (the connection's cached describe) shows as a compact card
(:class:`~sfnotebook.browse._describe.SObjectDescribe`). The frames come from the global
describe, the cached object describe, ``/limits`` and ``/limits/recordCount``; nothing here
queries records.

This module imports no pandas itself (the connection imports the describe card from this
package); each verb loads its frame builder on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

from sfnotebook._answers import decode_limits
from sfnotebook._api import OrgApi
from sfnotebook.browse._describe import SObjectDescribe

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SObjectDescribe", "fields", "limits", "objects", "picklist"]


def objects(conn: OrgApi, *, search: str | None = None, counts: bool = True) -> pd.DataFrame:
    """The org's objects: name, label, key prefix, custom, queryable, ... and record counts.

    From the global describe (``GET /sobjects``) plus, with ``counts=True``, one
    ``GET /limits/recordCount``: two API calls in all.

    Parameters
    ----------
    search : str, optional
        Keep only objects whose API name or label contains this text (any case).
    counts : bool
        Add ``records``, Salesforce's cached record count (the Record Count resource, API
        40.0+; it needs "View Setup and Configuration"). Where the org refuses it, or lists no
        count for an object, the count is ``<NA>``; the table's note says why.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``label``, ``label_plural``, ``key_prefix``, ``custom``,
        ``queryable``, ``createable``, ``updateable``, ``deletable``, ``custom_setting``
        (nullable booleans) and ``records`` (``Int64``), one row per object.

    Examples
    --------
    >>> org.objects(search="opp")[["name", "label", "records"]]  # doctest: +SKIP
    """
    from sfnotebook.browse._objects import objects_frame

    return objects_frame(conn, search=search, counts=counts)


def fields(conn: OrgApi, sobject: str, *, search: str | None = None) -> pd.DataFrame:
    """An object's fields: name, label, type, length, nillable, picklist values, references...

    Read from the connection's cached describe (no API call when the object was described
    already).

    Parameters
    ----------
    sobject : str
        The object's API name (``"Account"``, ``"Invoice__c"``), in any case.
    search : str, optional
        Keep only fields whose API name or label contains this text (any case).

    Returns
    -------
    pandas.DataFrame
        One row per field: ``name``, ``label``, ``type``, ``length``, ``precision``,
        ``scale``, ``nillable``, ``createable``, ``updateable``, ``unique``, ``external_id``,
        ``custom``, ``calculated``, ``formula`` (the formula of a formula field),
        ``default`` (the default value or default formula, as text), ``picklist_values``
        (active values, a list), ``reference_to`` (the objects a lookup points to, a list),
        ``relationship_name``, ``controller`` (of a dependent picklist) and ``help_text``.

    Examples
    --------
    >>> f = org.fields("Account")                                  # doctest: +SKIP
    >>> f[f.type == "picklist"][["name", "picklist_values"]]       # doctest: +SKIP
    """
    from sfnotebook.browse._fields import fields_frame

    return fields_frame(conn, sobject, search=search)


def picklist(conn: OrgApi, sobject: str, field: str) -> pd.DataFrame:
    """A picklist field's values: value, label, active, default (and, if dependent, for which
    controlling values each is valid).

    Read from the connection's cached describe.

    Parameters
    ----------
    sobject : str
        The object's API name (``"Opportunity"``).
    field : str
        The picklist field's API name (``"StageName"``), in any case.

    Raises
    ------
    InvalidArgumentError
        The object has no such field (the message suggests close names), or the field is not
        a picklist, multi-select picklist or combobox.

    Returns
    -------
    pandas.DataFrame
        Columns ``value`` (what the API stores and SOQL filters on), ``label``, ``active``,
        ``default``; for a dependent picklist also ``valid_for_<Controller>``, the list of
        controlling values each entry is valid for (decoded from ``validFor``).

    Examples
    --------
    >>> org.picklist("Opportunity", "StageName")  # doctest: +SKIP
    """
    from sfnotebook.browse._fields import picklist_frame

    return picklist_frame(conn, sobject, field)


@overload
def limits(conn: OrgApi, *, as_dict: Literal[False] = False) -> pd.DataFrame: ...


@overload
def limits(conn: OrgApi, *, as_dict: Literal[True]) -> dict[str, dict[str, int]]: ...


def limits(conn: OrgApi, *, as_dict: bool = False) -> pd.DataFrame | dict[str, dict[str, int]]:
    """The org's limits (``GET /limits``): what each allows, what remains, what is used.

    One API call. It needs the "View Setup and Configuration" permission.

    Parameters
    ----------
    as_dict : bool
        ``True``: Salesforce's own shape, ``{"DailyApiRequests": {"Max": 15000,
        "Remaining": 14990}, ...}`` (whole numbers), without importing pandas.

    Returns
    -------
    pandas.DataFrame or dict
        Columns ``name``, ``max``, ``remaining``, ``used`` (``Int64``) and ``used_pct``
        (``Float64``, percent of ``max``; ``<NA>`` where ``max`` is 0), one row per limit.

    Examples
    --------
    >>> lim = org.limits()                                        # doctest: +SKIP
    >>> lim.sort_values("used_pct", ascending=False).head()       # doctest: +SKIP
    >>> org.limits(as_dict=True)["DailyApiRequests"]["Remaining"]  # doctest: +SKIP
    """
    raw = decode_limits(conn.request("GET", "limits"))
    if as_dict:
        return raw
    from sfnotebook.browse._limits import limits_frame

    return limits_frame(raw)

"""From SOQL text to the frame's layout: columns in SELECT order, their types, children.

The SELECT list is read by :mod:`sfnotebook._soql_parse`; types and schema spellings come from
the describes of the objects on each path (:mod:`sfnotebook._describe_paths`).

A query loads its describes in at most two waves (issue 13, item 2; :func:`load_describes`).
Wave 1 is page 1, the root object's describe and the describes of the objects the query is
expected to reach (:func:`early_objects`), all at once. Wave 2 is every describe the plan
needs that wave 1 did not bring, again at once. Which objects those are, page 1 tells: each
record, parent and child record carries ``attributes.type`` ("Execute a SOQL Query":
``"attributes" : {"type" : "Account", "url" : ...}``), read from the bytes with a pattern
(:func:`object_types`). A parent that is null on every record of page 1 names no type; its
object is then taken from the root describe's ``referenceTo`` (:func:`parent_objects`). Only a
deeper all-null parent, or a type page 1 did not spell as expected, is described later, one
after the other, as :func:`plan` walks the paths (slower, never wrong). When wave 1 brought
everything, wave 2 sends nothing and the first query is one round trip.

The expected objects of wave 1, hop by hop along each parent path (``Account.Owner.Name`` on
Opportunity: Account, then User):

* **Kept copies.** Describes kept from an earlier session (the on-disk describe cache,
  :mod:`sfnotebook._describe_cache`) name the next objects by their ``referenceTo``, and
  child subqueries' objects by ``childRelationships``; each is revalidated in wave 1. A hop a
  kept copy answers is never guessed.
* **Guesses**, where no copy is kept (:func:`guess_parent`), from the relationship's name,
  after the Salesforce convention that a standard lookup field ``XId`` has the relationship
  name ``X`` (SOQL and SOSL Reference, "Understanding Relationship Names"):
  ``Owner``, ``CreatedBy`` and ``LastModifiedBy`` -> User; ``Parent`` -> the object it hangs
  from (Account.Parent -> Account); a relationship named like one of the standard objects of
  :data:`STANDARD_PARENTS` (Account, Contact, Opportunity, Campaign, Case, Lead, User,
  Pricebook2, Product2, ...) -> that object. Custom ``__r`` relationships, polymorphic ones
  such as Task's ``What`` and ``Who``, and any other name are not guessed: wave 2 finds them.
  Each level is guessed from the one before (the walk goes on from a guess, or from a kept
  copy of the guessed object), and at most :data:`GUESSES` (6) guessed describes go out, so a
  wide SELECT does not fire dozens of speculative calls: **every describe, right or wrong,
  costs the org one API call** of its daily allowance.

Neither kept copies nor guesses ever type a column: they only choose what to ask early. The
types come from the describes the plan reaches from the root describe's ``referenceTo``, as
answered by the org now. A wrong guess (``Owner`` may also be a Group, or a Calendar on
Event: the record's ``attributes.type`` decides) is a describe nobody reads; what it missed is
fetched in wave 2, exactly as without guesses. A guessed describe that fails is dropped
(:func:`prefetch`); the plan asks again where it needs the object, and only then can its
failure stop the query.

One round trip is the shortest chain of requests; it is also the shortest time because
``connect()`` leaves four connections open (:data:`sfnotebook.connection.PRECONNECT`): requests
sent at once travel on a connection each (HTTP/1.1), and each further request of wave 1 would
open a connection of its own, whose TCP and TLS set-up costs about two round trips before the
request goes (on bench/_rig.py's model, 100 ms a request and 200 ms a new connection: the
bench's first query takes about 0.12 s on four open connections, 0.32 s on two). The same holds
for the kept copies' revalidations.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sfnotebook import _describe_paths as dp
from sfnotebook import _soql_parse as sp
from sfnotebook._api import OrgApi
from sfnotebook.errors import (
    RequestLimitExceededError,
    SalesforceError,
    ServerUnavailableError,
    SessionExpiredError,
    SfNotebookError,
    UnexpectedAnswerError,
)

if TYPE_CHECKING:  # pyarrow: imported when a layout is built, after page 1 was sent
    from sfnotebook.soql._frames import Layout

__all__ = [
    "GUESSES",
    "STANDARD_PARENTS",
    "Plan",
    "describer",
    "early_objects",
    "guess_parent",
    "kept_objects",
    "layout_from_records",
    "load_describes",
    "object_types",
    "parent_objects",
    "plan",
    "prefetch",
]

log = logging.getLogger("sfnotebook")

# Failures that say nothing about the object: they must stop the query, not just its types
# (an answer that is not Salesforce's, cut short say, is transient too: retrying gives types).
_FATAL = (
    RequestLimitExceededError,
    ServerUnavailableError,
    SessionExpiredError,
    UnexpectedAnswerError,
)


@dataclass
class Plan:
    layout: Layout | None  # None: the SELECT list could not be read; taken from the records
    count_only: bool
    describe_of: Callable[[str], Any]


def describer(conn: OrgApi) -> Callable[[str], Any]:
    """``conn.describe`` that answers None for an object it cannot describe."""
    failed: set[str] = set()

    def describe_of(name: str | None) -> Any:
        if not name or name.lower() in failed:
            return None
        try:
            return conn.describe(name)
        except _FATAL:
            raise
        except SalesforceError:
            failed.add(name.lower())
            return None

    return describe_of


def _layout(select: sp.Select, describe_of: Callable[[str], Any], root: str | None) -> Layout:
    from sfnotebook import dtypes as _dt
    from sfnotebook.soql._frames import Layout

    columns: list[str] = []
    types: dict[str, str | None] = {}
    compound: set[str] = set()
    children: dict[str, Layout] = {}
    grouped = select.is_aggregate

    def add(column: str, sf_type: str | None) -> None:
        if column not in types:
            columns.append(column)
            types[column] = sf_type

    for item in select.items:
        if isinstance(item, sp.FieldRef):
            sf_type = dp.resolve_type(describe_of, root, item.path)
            if grouped:
                key = item.key if item.key != item.path else item.path.split(".")[-1]
                field = dp.resolve_field(describe_of, root, item.path.split("."))
                add(
                    str(field["name"]) if field and key == item.path.split(".")[-1] else key,
                    sf_type,
                )
                continue
            column = dp.spell(describe_of, root, item.path)
            parts = dp.compound_parts(describe_of, root, column)
            if parts:
                compound.add(column)
                for part in parts:
                    add(f"{column}.{part}", _dt.COMPOUND_PARTS.get(part))
            else:
                add(column, sf_type)
        elif isinstance(item, sp.Aggregate):
            if item.function in sp._INT_FUNCTIONS:
                add(item.key, "int")
            else:
                source = (
                    dp.resolve_type(describe_of, root, item.argument) if item.argument else None
                )
                add(item.key, _dt.aggregate_type(item.function, source))
        elif isinstance(item, sp.TypeOf):
            rel = dp.spell(describe_of, root, f"{item.relationship}.Id").rsplit(".", 1)[0]
            add(f"{rel}.attributes.type", "string")
            for name in item.fields:
                column = dp.spell(describe_of, root, f"{item.relationship}.{name}")
                add(column, dp.resolve_type(describe_of, root, column))
        else:
            child_root, rel = dp.child_object(describe_of, root or "", item.relationship)
            children[rel] = _layout(item.select, describe_of, child_root)
    return Layout(tuple(columns), types, children, root, frozenset(compound))


def plan(
    conn: OrgApi, select: sp.Select | None, describe_of: Callable[[str], Any] | None = None
) -> Plan:
    """The layout of ``select``'s frame; ``describe_of``: a :func:`describer` of ``conn``."""
    describe_of = describe_of or describer(conn)
    if select is None:
        return Plan(None, False, describe_of)
    root = (describe_of(select.object_name) or {}).get("name") or select.object_name
    return Plan(_layout(select, describe_of, root), select.is_count_only, describe_of)


def layout_from_records(plan: Plan, records: list[Any]) -> Layout:
    from sfnotebook.soql._frames import Layout
    from sfnotebook.soql.records import infer_layout

    inferred = infer_layout(records)
    root = inferred.object_name
    types = dict(inferred.types)
    for column in inferred.columns:
        resolved = dp.resolve_type(plan.describe_of, root, column)
        if resolved is not None:
            types[column] = resolved
    return Layout(inferred.columns, types, inferred.children, root)


# --------------------------------------------------------------------------- describes at once

# Salesforce writes "type" first in every record's attributes (REST API Developer Guide,
# "Execute a SOQL Query", example response); a page spelled otherwise only costs describes
# loaded later, in turn.
_TYPE = re.compile(rb'"attributes"\s*:\s*\{\s*"type"\s*:\s*"([A-Za-z][A-Za-z0-9_]*)"')


def object_types(page: bytes) -> list[str]:
    """The object names of every record, parent and child record of a query page."""
    seen: dict[str, str] = {}
    for match in _TYPE.finditer(page):
        name = match.group(1).decode("ascii")
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def parent_objects(select: sp.Select | None, root: Any) -> list[str]:
    """The objects the first hop of each parent path leads to, from the root's describe."""
    if select is None or not isinstance(root, dict):
        return []
    names: list[str] = []
    for item in select.items:
        if isinstance(item, sp.FieldRef) and "." in item.path:
            relationship = item.path.split(".", 1)[0].lower()
            for field in root.get("fields", ()):
                if str(field.get("relationshipName") or "").lower() == relationship:
                    names.extend(str(t) for t in field.get("referenceTo") or () if t)
    return names


# Guessed parents (see the module docstring). A standard lookup field ``XId`` has the
# relationship name ``X`` and leads to the object of that name where one exists ("For
# child-to-parent relationships, the relationship name to the parent is the name of the foreign
# key": SOQL and SOSL Reference, "Understanding Relationship Names",
# developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/
# sforce_api_calls_soql_relationships_understanding.htm); Owner, CreatedBy and LastModifiedBy
# lead to User ("The OwnerId field of the Account object: relationshipName = Owner, referenceTo
# = User", "Understanding Relationship Fields and Polymorphic Fields", .../soql_sosl/
# sforce_api_calls_soql_relationships_and_polymorph_keys.htm; the same page: Event's Owner is a
# Calendar or a User, so a guess is only ever a prefetch). Custom relationships end in ``__r``
# ("Understanding Relationship Names, Custom Objects, and Custom Fields") and are not guessed.

#: Guessed describes sent with page 1 at most: each one is an API call against the org's
#: daily allowance, and a wrong one is wasted.
GUESSES = 6

_USER_RELATIONSHIPS = frozenset({"owner", "createdby", "lastmodifiedby"})

#: Standard objects a relationship of the same name leads to (``AccountId`` -> ``Account``).
STANDARD_PARENTS: tuple[str, ...] = (
    "Account",
    "Asset",
    "Campaign",
    "Case",
    "Contact",
    "Contract",
    "Lead",
    "Opportunity",
    "Order",
    "Pricebook2",
    "Product2",
    "User",
)
_STANDARD = {name.lower(): name for name in STANDARD_PARENTS}


def guess_parent(relationship: str, holder: str | None) -> str | None:
    """The object ``holder``'s relationship ``relationship`` most likely leads to, by its name
    alone (None: no guess). Only chooses what to describe early, never a type."""
    key = relationship.lower()
    if key.endswith("__r"):
        return None
    if key in _USER_RELATIONSHIPS:
        return "User"
    if key == "parent":
        return holder or None  # Account.Parent -> Account, Case.Parent -> Case
    return _STANDARD.get(key)


def early_objects(
    conn: object, select: sp.Select | None, *, guesses: int | None = None
) -> tuple[list[str], list[str]]:
    """The objects ``select`` reaches, known before page 1: ``(kept, guessed)``; no request.

    Follows every parent path hop by hop (``Account.Owner.Name``: Account, then User) and each
    child subquery's relationship one level down. Where the connection keeps a describe of an
    object on the path (``conn._kept_describe``: in memory or on disk), its ``referenceTo``
    names the next objects (``kept``); where it keeps none, :func:`guess_parent` guesses the
    next object from the relationship's name (``guessed``, at most ``guesses`` of them,
    :data:`GUESSES` by default) and the walk goes on from the guess (what a kept copy of a
    guessed object names is a guess too: only as sure as the guess). A hop neither tells stops
    its path, and so does a kept copy that has no such relationship: what the walk cannot see
    is found in the second wave, as on a fresh connection. The root is in neither list.
    """
    if select is None:
        return [], []
    guesses = GUESSES if guesses is None else guesses
    kept_describe = getattr(conn, "_kept_describe", None)

    def describe(name: str) -> Any:
        if kept_describe is None:
            return None
        try:
            found = kept_describe(name)
        except Exception:  # a hint only: a name the cache cannot hold is simply not hinted
            return None
        return found if isinstance(found, dict) else None

    kept: dict[str, str] = {}
    guessed: dict[str, str] = {}
    root_name = select.object_name
    root_key = root_name.lower()
    root = describe(root_name)
    for item in select.items:
        if isinstance(item, sp.FieldRef) and "." in item.path:
            # (object, its kept copy or None, reached through kept copies only)
            level: list[tuple[str, Any, bool]] = [(root_name, root, True)]
            for hop in item.path.split(".")[:-1]:
                targets: dict[str, bool] = {}
                for holder, found, sure in level:
                    if found is not None:  # a kept copy answers this hop: no guess
                        proven = sure
                        named = [
                            str(target)
                            for field in found.get("fields", ())
                            if str(field.get("relationshipName") or "").lower() == hop.lower()
                            for target in field.get("referenceTo") or ()
                            if target
                        ]
                    else:
                        proven = False
                        guess = guess_parent(hop, holder) if guesses else None
                        named = [guess] if guess else []
                    for target in named:
                        key = target.lower()
                        if proven:
                            kept.setdefault(key, target)
                        elif key != root_key and key not in kept and key not in guessed:
                            if len(guessed) >= guesses:
                                continue  # past the cap: found in the second wave
                            guessed[key] = target
                        targets[target] = targets.get(target, False) or proven
                level = [(name, describe(name), proven) for name, proven in targets.items()]
                if not level:
                    break
        elif isinstance(item, sp.SubSelect) and root is not None:
            for child in root.get("childRelationships", ()):
                if str(child.get("relationshipName") or "").lower() == item.relationship.lower():
                    target = str(child.get("childSObject") or "")
                    if target:
                        kept.setdefault(target.lower(), target)
    kept.pop(root_key, None)
    for key in kept:  # guessed on one path, proven by kept copies on another: asked as kept
        guessed.pop(key, None)
    return list(kept.values()), list(guessed.values())


def kept_objects(conn: object, select: sp.Select | None) -> list[str]:
    """The objects ``select`` reaches, read from describes the connection keeps; no request
    (:func:`early_objects` without guesses). A connection without kept copies gives []."""
    return early_objects(conn, select, guesses=0)[0]


def prefetch(describe_of: Callable[[str], Any], name: str) -> None:
    """Describe a guessed object ahead of need; any failure is dropped.

    A guess may be wrong or its object absent from the org: nothing then depends on it. When
    the plan does need the object, it asks :func:`describer` again, which shares the answer of
    this request if it is still in flight (``OncePerKey``), or fetches again after a failure, so
    a failure is raised only where the object is needed, exactly as without the guess.
    """
    try:
        describe_of(name)
    except SfNotebookError as exc:
        log.debug("guessed describe of %s not used (%s)", name, type(exc).__name__)


def load_describes(pool: Executor, describe_of: Callable[[str], Any], names: Iterable[str]) -> None:
    """Describe ``names`` all at once on ``pool`` (each object once; the connection caches
    them). A failure that says nothing about the object is raised; others leave the object
    undescribed, as :func:`describer` does."""
    unique = {name.lower(): name for name in names if name}
    futures = [pool.submit(describe_of, name) for name in unique.values()]
    for future in futures:
        future.result()

"""Row generators for the demo dataset (used by :mod:`sfnotebook_demo.data.database`).

Each object draws from its own ``random.Random`` seeded with ``(seed, object name)``, so one
object's rows do not depend on another object's size, and the first N opportunities are the
same whatever the total. Rows are produced as tuples in table column order.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import unicodedata
from bisect import bisect
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any

from sfnotebook_demo.data import schema as s
from sfnotebook_demo.data.dating import TIMES
from sfnotebook_demo.data.opportunities import opportunity_rows
from sfnotebook_demo.data.vocabulary import (
    CASE_SUBJECTS,
    COMPANY_NOUNS,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    FIRST_NAMES,
    LANGUAGES,
    LAST_NAMES,
    PLACES,
    QUIRKY_TEXT,
    SPECIAL_COMPANIES,
    STREETS,
    TASK_SUBJECTS,
    TITLES,
)
from sfnotebook_demo.ids import make_id

__all__ = ["DEFAULT_SIZES", "Seeder"]

DEFAULT_SIZES: dict[str, int] = {
    "User": 50,
    "Account": 5_000,
    "Contact": 20_000,
    "Opportunity": 50_000,
    "Case": 2_500,
    "Task": 10_000,
}

DELETED_RATE = 0.02


def _permission_set(
    i: int, name: str, label: str, profile: int | None, granted: frozenset[str]
) -> dict[str, Any]:
    """One PermissionSet row; ``profile`` numbers the owning profile (the demo has none)."""
    row: dict[str, Any] = {
        "Id": make_id("0PS", i),
        "Name": name,
        "Label": label,
        "IsOwnedByProfile": int(profile is not None),
        "ProfileId": None if profile is None else make_id("00e", profile),
    }
    row.update({f"Permissions{p}": int(p in granted) for p in s.PERMISSIONS})
    return row


# A profile-owned permission set's Name is "X" and its profile's Id (help.salesforce.com
# knowledge article 000230980, "X00e20000003Fk9OAAS"); the labels here are the demo's own.
PERMISSION_SETS: tuple[dict[str, Any], ...] = (
    _permission_set(0, "X" + make_id("00e", 0), "Standard User", 0,
                    frozenset({"RunReports"})),
    _permission_set(1, "X" + make_id("00e", 1), "Salesforce API Only System Integrations", 1,
                    frozenset({"ApiEnabled", "ViewSetup", "RunReports", "ViewAllData"})),
    _permission_set(2, "Bulk_Data_Maintenance", "Bulk Data Maintenance", None,
                    frozenset({"ApiEnabled", "BulkApiHardDelete"})),
)  # fmt: skip
_STANDARD_SET, _INTEGRATION_PROFILE_SET, _EXTRA_SET = 0, 1, 2


@functools.lru_cache(maxsize=4096)
def _slug(text: str, keep: str = "") -> str:
    """Lower-case ASCII letters and digits of ``text`` (accents dropped), plus ``keep``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in plain if ch.isalnum() or ch in keep)


class Seeder:
    """Generates the rows of each object for one seed, sizes and build day.

    Call :meth:`rows` in :data:`sfnotebook_demo.data.schema.SCHEMA` order (parents before
    children).
    """

    def __init__(self, *, seed: int, sizes: dict[str, int], today: dt.date) -> None:
        self.seed = seed
        self.sizes = sizes
        self.today = today.toordinal()
        self._day_cache: dict[int, str] = {}
        self.times = TIMES
        self.user_ids = [make_id("005", i) for i in range(sizes["User"])]
        self.account_ids = [make_id("001", i) for i in range(sizes["Account"])]
        self.contact_ids = [make_id("003", i) for i in range(sizes["Contact"])]
        self.opportunity_ids: list[str] = []
        self.account_names: list[str] = []
        self._taken_stems: set[tuple[str, str]] = set()
        self.account_places: list[int] = []
        self.contact_accounts: list[str | None] = []

    # --- helpers ----------------------------------------------------------------------------

    def _rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}:{name}")

    def day(self, ordinal: int) -> str:
        text = self._day_cache.get(ordinal)
        if text is None:
            text = dt.date.fromordinal(ordinal).isoformat()
            self._day_cache[ordinal] = text
        return text

    def stamp(self, day: int, rng: random.Random) -> str:
        """A datetime on ``day`` at a random second, in Salesforce's storage format."""
        return self.day(day) + TIMES[int(rng.random() * 86400)]

    def audit(self, rng: random.Random, days_back: int, position: int) -> dict[str, Any]:
        """IsDeleted, CreatedDate/ById, LastModifiedDate/ById, SystemModstamp."""
        created = self.today - 1 - int(rng.random() * days_back)
        modified = min(created + int(rng.random() * 120), self.today - 1)
        users = self.user_ids
        created_by = users[int(rng.random() * len(users))]
        modified_stamp = self.stamp(modified, rng)
        return {
            "IsDeleted": 1 if rng.random() < DELETED_RATE and position > 0 else 0,
            "CreatedDate": self.stamp(created, rng) if modified > created else modified_stamp,
            "CreatedById": created_by,
            "LastModifiedDate": modified_stamp,
            "LastModifiedById": users[int(rng.random() * len(users))],
            "SystemModstamp": modified_stamp,
            "_created": created,
        }

    def rows(self, name: str) -> Iterator[tuple[Any, ...]]:
        """The rows of object ``name`` as tuples in table column order."""
        if name == "Opportunity":
            yield from opportunity_rows(self, self.sizes[name])
            return
        if name == "Report":
            yield from self._reports()
            return
        if name in ("PermissionSet", "PermissionSetAssignment"):
            yield from self._permission_rows(name)
            return
        make: Callable[[random.Random, int], dict[str, Any]] = getattr(self, "_" + name.lower())
        getter = itemgetter(*s.SCHEMA[name].columns)
        rng = self._rng(name)
        for i in range(self.sizes[name]):
            yield getter(make(rng, i))

    # --- objects ----------------------------------------------------------------------------

    def _reports(self) -> Iterator[tuple[Any, ...]]:
        """The Report object's rows: one per report definition, whatever the sizes."""
        from sfnotebook_demo.reports.defs import report_records  # the reports feature's own

        getter = itemgetter(*s.SCHEMA["Report"].columns)
        rng = self._rng("Report")
        for i, record in enumerate(report_records()):
            row = self.audit(rng, 900, i)
            row["IsDeleted"] = 0
            ran = self.today - 1 - int(rng.random() * 30)
            # Some reports never ran or were never viewed: those dates stay null.
            row["LastRunDate"] = self.stamp(ran, rng) if i % 3 else None
            row["LastViewedDate"] = row["LastRunDate"] if i % 2 else None
            row["LastReferencedDate"] = row["LastViewedDate"]
            row.update(record)
            yield getter(row)

    def _permission_rows(self, name: str) -> Iterator[tuple[Any, ...]]:
        """PermissionSet's rows (fixed) or PermissionSetAssignment's (one or two per user)."""
        getter = itemgetter(*s.SCHEMA[name].columns)
        rng = self._rng(name)
        made = PERMISSION_SETS if name == "PermissionSet" else self._assignments()
        for i, record in enumerate(made):
            row = self.audit(rng, 900, i)
            row["IsDeleted"] = 0
            row.update(record)
            yield getter(row)

    def _assignments(self) -> Iterator[dict[str, Any]]:
        """Each user's profile permission set; the Run As user (the last) gets one more.

        The Run As user is the integration user that reads everything in the demo, so its
        profile grants every permission sfnotebook checks; the other users' profile does not
        enable the API.
        """
        run_as = len(self.user_ids) - 1
        number = 0
        for i, user_id in enumerate(self.user_ids):
            sets = (_INTEGRATION_PROFILE_SET, _EXTRA_SET) if i == run_as else (_STANDARD_SET,)
            for index in sets:
                ps_id = PERMISSION_SETS[index]["Id"]
                yield {
                    "Id": make_id("0Pa", number),
                    "AssigneeId": user_id,
                    "PermissionSetId": ps_id,
                }
                number += 1

    def _user(self, rng: random.Random, i: int) -> dict[str, Any]:
        first = FIRST_NAMES[int(rng.random() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(rng.random() * len(LAST_NAMES))]
        slug = _slug(f"{first}.{last}", keep=".") or f"user{i}"
        row = self.audit(rng, 2000, i)
        row["IsDeleted"] = 0  # users are deactivated, never deleted
        row.update(
            Id=self.user_ids[i],
            Username=f"{slug}.{i}@sfnotebook-demo.example",
            LastName=last,
            FirstName=first,
            Name=f"{first} {last}",
            Alias=(first[:1] + last[:4]).lower(),
            Email=f"{slug}@sfnotebook-demo.example",
            Title=None if i == 0 else TITLES[int(rng.random() * len(TITLES))],
            Department=s.DEPARTMENTS[i % len(s.DEPARTMENTS)] if rng.random() < 0.9 else None,
            CompanyName="sfnotebook Demo" if rng.random() < 0.7 else None,
            Phone=f"+1 415 555 {1000 + i:04d}" if rng.random() < 0.8 else None,
            IsActive=0 if i > 0 and rng.random() < 0.1 else 1,
            # A tree three wide: user i reports to user (i-1)//3, so Manager chains run deep.
            ManagerId=None if i == 0 else self.user_ids[(i - 1) // 3],
            TimeZoneSidKey=s.TIME_ZONES[int(rng.random() * len(s.TIME_ZONES))],
            LastLoginDate=self.stamp(self.today - 1 - int(rng.random() * 30), rng)
            if rng.random() < 0.8
            else None,
        )
        if i == 0:
            row["CreatedById"] = row["LastModifiedById"] = row["Id"]
        if i == self.sizes["User"] - 1 and i > 0:
            # The client-credentials Run As user, named as Salesforce names it.
            row.update(
                FirstName="Integration", LastName="User", Name="Integration User",
                Alias="integ", Username="integration@sfnotebook-demo.example",
                Email="integration@sfnotebook-demo.example", Title=None, Department=None,
                IsActive=1, ManagerId=None,
            )  # fmt: skip
        return row

    def _company(self, rng: random.Random) -> str:
        r = rng.random()
        if r < 0.04:
            return SPECIAL_COMPANIES[int(rng.random() * len(SPECIAL_COMPANIES))]
        word = COMPANY_WORDS[int(rng.random() * len(COMPANY_WORDS))]
        noun = COMPANY_NOUNS[int(rng.random() * len(COMPANY_NOUNS))]
        if r < 0.6:
            return f"{word} {noun}"
        return f"{word} {noun} {COMPANY_SUFFIXES[int(rng.random() * len(COMPANY_SUFFIXES))]}"

    def _unique_company(self, drawn: str, i: int) -> str:
        """``drawn``, or another company (same legal suffix) when one has its ``word noun``.

        Real orgs hold a few duplicate account names, not five "Acme Airlines" in a row, nor one
        company under many suffixes ("Acme Airlines AG", "... GmbH", "... plc"): an ordinary
        name whose ``word noun`` is taken walks on, in a fixed order from a start set by ``i``,
        to a ``word noun`` no account has yet (114 x 47 for about 5,000 accounts). The random
        draws stay the same, so every other value of every row is unchanged. The special names
        (CSV and quoting hazards) keep their duplicates: tests filter on them.
        """
        if drawn in SPECIAL_COMPANIES:
            return drawn
        word, noun, *suffix = drawn.split(" ", 2)
        tail = f" {suffix[0]}" if suffix else ""
        if (word, noun) not in self._taken_stems:
            self._taken_stems.add((word, noun))
            return drawn
        words, nouns = len(COMPANY_WORDS), len(COMPANY_NOUNS)
        for step in range(words * nouns):
            k = (i * 7919 + step) % (words * nouns)
            stem = COMPANY_WORDS[k % words], COMPANY_NOUNS[k // words]
            if stem not in self._taken_stems:
                self._taken_stems.add(stem)
                return f"{stem[0]} {stem[1]}{tail}"
        return drawn  # more accounts than combinations: a duplicate, as real orgs have

    def _account(self, rng: random.Random, i: int) -> dict[str, Any]:
        today = self.today
        name = self._unique_company(self._company(rng), i)
        p = int(rng.random() * len(PLACES))
        city, state, country, postal, lat, lon = PLACES[p]
        self.account_names.append(name)
        self.account_places.append(p)
        slug = _slug(name)[:20] or "company"
        has_address = rng.random() >= 0.05
        geocoded = has_address and rng.random() < 0.7
        type_ = s.ACCOUNT_TYPES[int(rng.random() * len(s.ACCOUNT_TYPES))]
        public = rng.random() < 0.2
        row = self.audit(rng, 3 * 365, i)
        customer = type_.startswith("Customer")
        row.update(
            Id=self.account_ids[i],
            OwnerId=self.user_ids[int(rng.random() * len(self.user_ids))],
            Name=name,
            Type=type_ if rng.random() < 0.95 else None,
            # Parents are earlier accounts, so ParentId chains (Parent.Parent...) exist.
            ParentId=self.account_ids[int(rng.random() * i)] if i and rng.random() < 0.15 else None,
            BillingStreet=f"{1 + int(rng.random() * 9000)} {STREETS[int(rng.random() * 10)]}"
            if has_address
            else None,
            BillingCity=city if has_address else None,
            BillingState=state if has_address else None,
            BillingPostalCode=f"{postal}{int(rng.random() * 100):02d}" if has_address else None,
            BillingCountry=country if has_address else None,
            BillingLatitude=round(lat + rng.uniform(-0.05, 0.05), 6) if geocoded else None,
            BillingLongitude=round(lon + rng.uniform(-0.05, 0.05), 6) if geocoded else None,
            BillingGeocodeAccuracy=("Address" if rng.random() < 0.8 else "Zip")
            if geocoded
            else None,
            Phone=f"({200 + int(rng.random() * 700)}) 555-{int(rng.random() * 10000):04d}"
            if rng.random() < 0.9
            else None,
            Fax=f"(415) 555-{int(rng.random() * 10000):04d}" if rng.random() < 0.3 else None,
            AccountNumber=f"CD{100000 + i}" if rng.random() < 0.8 else None,
            Website=f"https://www.{slug}.example.com" if rng.random() < 0.85 else None,
            Sic=str(1000 + int(rng.random() * 8999)) if rng.random() < 0.5 else None,
            Industry=s.INDUSTRIES[int(rng.random() * len(s.INDUSTRIES))]
            if rng.random() < 0.93
            else None,
            AnnualRevenue=float(int(rng.lognormvariate(16, 1.5)) // 1000 * 1000)
            if rng.random() < 0.85
            else None,
            NumberOfEmployees=int(rng.lognormvariate(5, 1.6)) + 1 if rng.random() < 0.88 else None,
            Ownership=("Public" if public else s.OWNERSHIP[1 + int(rng.random() * 3)])
            if rng.random() < 0.8
            else None,
            TickerSymbol=slug[:4].upper() if public and rng.random() < 0.8 else None,
            Description=QUIRKY_TEXT[int(rng.random() * len(QUIRKY_TEXT))]
            if rng.random() < 0.4
            else None,
            Rating=s.RATINGS[int(rng.random() * 3)] if rng.random() < 0.7 else None,
            LastActivityDate=self.day(today - 1 - int(rng.random() * 200))
            if rng.random() < 0.6
            else None,
            Tier__c=s.TIERS[int(rng.random() * 4)] if rng.random() < 0.75 else None,
            Customer_Since__c=self.day(row["_created"] + int(rng.random() * 60))
            if customer
            else None,
            HQ_Location__Latitude__s=round(lat, 4) if rng.random() < 0.4 else None,
            HQ_Location__Longitude__s=None,
        )
        if row["HQ_Location__Latitude__s"] is not None:
            row["HQ_Location__Longitude__s"] = round(lon, 4)
        return row

    def _contact(self, rng: random.Random, i: int) -> dict[str, Any]:
        today = self.today
        n_acc = len(self.account_ids)
        a = int(rng.random() * n_acc)
        account = self.account_ids[a] if rng.random() < 0.97 else None
        self.contact_accounts.append(account)
        first = FIRST_NAMES[int(rng.random() * len(FIRST_NAMES))] if rng.random() < 0.97 else None
        last = LAST_NAMES[int(rng.random() * len(LAST_NAMES))]
        city, state, country, postal, lat, lon = PLACES[
            self.account_places[a] if account and rng.random() < 0.8 else int(rng.random() * 18)
        ]
        slug = _slug(f"{first or ''}.{last}", keep=".").strip(".") or "contact"
        row = self.audit(rng, 3 * 365, i)
        has_mail = rng.random() < 0.7
        geocoded = has_mail and rng.random() < 0.3
        row.update(
            Id=self.contact_ids[i],
            OwnerId=self.user_ids[int(rng.random() * len(self.user_ids))],
            AccountId=account,
            LastName=last,
            FirstName=first,
            Salutation=s.SALUTATIONS[int(rng.random() * 6)] if rng.random() < 0.6 else None,
            Name=f"{first} {last}" if first else last,
            MailingStreet=f"{1 + int(rng.random() * 999)} {STREETS[int(rng.random() * 10)]}"
            if has_mail
            else None,
            MailingCity=city if has_mail else None,
            MailingState=state if has_mail else None,
            MailingPostalCode=f"{postal}{int(rng.random() * 100):02d}" if has_mail else None,
            MailingCountry=country if has_mail else None,
            MailingLatitude=round(lat + rng.uniform(-0.05, 0.05), 6) if geocoded else None,
            MailingLongitude=round(lon + rng.uniform(-0.05, 0.05), 6) if geocoded else None,
            MailingGeocodeAccuracy="Address" if geocoded else None,
            Phone=f"+1 (555) {int(rng.random() * 1000):03d}-{int(rng.random() * 10000):04d}"
            if rng.random() < 0.8
            else None,
            MobilePhone=f"+44 7700 {int(rng.random() * 1000000):06d}"
            if rng.random() < 0.4
            else None,
            Email=f"{slug}{i}@example.com" if rng.random() < 0.93 else None,
            Title=TITLES[int(rng.random() * len(TITLES))] if rng.random() < 0.85 else None,
            Department=s.DEPARTMENTS[int(rng.random() * 6)] if rng.random() < 0.6 else None,
            LeadSource=s.LEAD_SOURCES[int(rng.random() * 10)] if rng.random() < 0.7 else None,
            Birthdate=self.day(self.today - 365 * 22 - int(rng.random() * 365 * 40))
            if rng.random() < 0.35
            else None,
            # Report to an earlier contact, ideally of the same account.
            ReportsToId=self.contact_ids[int(rng.random() * i)]
            if i and rng.random() < 0.2
            else None,
            HasOptedOutOfEmail=1 if rng.random() < 0.1 else 0,
            DoNotCall=1 if rng.random() < 0.05 else 0,
            Description=QUIRKY_TEXT[int(rng.random() * len(QUIRKY_TEXT))]
            if rng.random() < 0.15
            else None,
            LastActivityDate=self.day(today - 1 - int(rng.random() * 300))
            if rng.random() < 0.5
            else None,
            Languages__c=LANGUAGES[int(rng.random() * len(LANGUAGES))]
            if rng.random() < 0.5
            else None,
            Level__c=s.CONTACT_LEVELS[int(rng.random() * 3)] if rng.random() < 0.6 else None,
            # From the position alone: the random stream (and every other value) is unchanged.
            External_Id__c=f"CT-{i:06d}",
        )
        return row

    def _case(self, rng: random.Random, i: int) -> dict[str, Any]:
        today = self.today
        r = rng.random
        c = int(r() * len(self.contact_ids))
        contact = self.contact_ids[c] if r() < 0.9 else None
        account = self.contact_accounts[c] if contact else None
        status = s.CASE_STATUSES[bisect((25, 45, 55, 100), r() * 100)]
        row = self.audit(rng, 2 * 365, i)
        origin = s.CASE_ORIGINS[int(r() * 3)] if r() < 0.95 else None
        web = origin == "Web"
        closed = status == "Closed"
        row.update(
            Id=make_id("500", i),
            OwnerId=self.user_ids[int(r() * len(self.user_ids))],
            CaseNumber=f"{1001 + i:08d}",
            ContactId=contact,
            AccountId=account,
            SuppliedName=f"{FIRST_NAMES[int(r() * 50)]} {LAST_NAMES[int(r() * 52)]}"
            if web
            else None,
            SuppliedEmail=f"webform{i}@example.org" if web else None,
            SuppliedPhone=f"+1 800 555 {int(r() * 10000):04d}" if web and r() < 0.5 else None,
            Type=s.CASE_TYPES[int(r() * 5)] if r() < 0.8 else None,
            Status=status,
            Reason=s.CASE_REASONS[int(r() * 7)] if r() < 0.7 else None,
            Origin=origin,
            Subject=CASE_SUBJECTS[int(r() * len(CASE_SUBJECTS))] if r() < 0.95 else None,
            Priority=s.CASE_PRIORITIES[int(r() * 3)],
            Description=QUIRKY_TEXT[int(r() * len(QUIRKY_TEXT))] if r() < 0.5 else None,
            IsClosed=1 if closed else 0,
            ClosedDate=self.stamp(min(row["_created"] + int(r() * 30), today - 1), rng)
            if closed
            else None,
            IsEscalated=1 if status == "Escalated" or r() < 0.03 else 0,
        )
        if closed and row["ClosedDate"] < row["CreatedDate"]:
            row["ClosedDate"] = row["CreatedDate"]
        return row

    def _task(self, rng: random.Random, i: int) -> dict[str, Any]:
        today = self.today
        r = rng.random
        n_opp = self.sizes["Opportunity"]
        w = r()
        if w < 0.5 and n_opp:
            what = make_id("006", int(r() * n_opp))
        elif w < 0.8:
            what = self.account_ids[int(r() * len(self.account_ids))]
        else:
            what = None
        who = self.contact_ids[int(r() * len(self.contact_ids))] if r() < 0.7 else None
        status = s.TASK_STATUSES[int(r() * 5)]
        priority = s.TASK_PRIORITIES[bisect((15, 85, 100), r() * 100)]
        type_ = s.TASK_TYPES[int(r() * 4)] if r() < 0.8 else None
        row = self.audit(rng, 2 * 365, i)
        closed = status == "Completed"
        activity = row["_created"] + int(r() * 60)
        row.update(
            Id=make_id("00T", i),
            OwnerId=self.user_ids[int(r() * len(self.user_ids))],
            WhoId=who,
            WhatId=what,
            Subject=TASK_SUBJECTS[int(r() * len(TASK_SUBJECTS))],
            ActivityDate=self.day(activity) if r() < 0.85 else None,
            Status=status,
            Priority=priority,
            IsHighPriority=1 if priority == "High" else 0,
            Description=QUIRKY_TEXT[int(r() * len(QUIRKY_TEXT))] if r() < 0.2 else None,
            Type=type_,
            IsClosed=1 if closed else 0,
            CallDurationInSeconds=int(r() * 3600) if type_ == "Call" and r() < 0.8 else None,
            TaskSubtype="Call" if type_ == "Call" else ("Email" if type_ == "Email" else "Task"),
            CompletedDateTime=self.stamp(min(activity, today - 1), rng) if closed else None,
        )
        return row

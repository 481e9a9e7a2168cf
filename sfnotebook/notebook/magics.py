"""IPython magics: ``%%soql``, ``%soql`` and ``%sfreport`` (``%load_ext sfnotebook``).

::

    %%soql df
    SELECT Id, Name, Account.Name FROM Contact WHERE LastName = :last_name

    top = %soql SELECT Id, Name FROM Account WHERE Name LIKE '{prefix:like}%' LIMIT 10
    %sfreport Opportunities by Stage -o stage

Python values are bound safely, by the rules of ``params=`` (:mod:`sfnotebook._soql_bind`):
``:name`` and ``{name}`` become one complete SOQL literal (strings quoted and escaped, lists
``('a','b')``, dates, UTC datetimes, numbers, booleans, ``None`` -> ``null``); inside a quoted
string ``{name}`` inserts the escaped text and ``{name:like}`` also escapes ``%`` and ``_``.
``{{`` and ``}}`` are literal braces; ``LAST_N_DAYS:30`` is a date literal, never a bind.
A value with no literal of the same meaning (NaN, a datetime without a time zone ...) is
refused. IPython's own ``{var}``/``$var`` expansion is switched off for these magics: it would
paste values unquoted.

Errors keep their type: an unknown field is an ``InvalidFieldError``, an unknown report a
``ReportNotFoundError``, shown by sfnotebook's IPython error display
(:mod:`sfnotebook.notebook._errors`, installed with the magics) as the type and the message,
without a traceback. Only a mistake in the magic's own line or cell (an unknown option, a name
to bind that the notebook lacks, a value with no SOQL literal) is IPython's
:class:`~IPython.core.error.UsageError`.

``-c NAME`` / ``--connection NAME`` picks the connection: a notebook variable ``NAME`` holding
one; else the open connection of the profile ``NAME`` (``connect(profile="uat")``); else a new
``connect(profile=NAME)`` from its ``SF_<NAME>_*`` settings, which stays open for the next
``-c NAME`` and does not become the default. Without ``-c`` the default connection is used
(``sfnotebook.get_default()``; see ``docs/profiles.md``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand

from sfnotebook._soql_bind import bind
from sfnotebook.errors import MissingSettingError, SoqlBindError

__all__ = ["SfNotebookMagics", "bind_soql", "load_ipython_extension"]


# ------------------------------------------------------------------------------ binding


def bind_soql(soql: str, namespace: Mapping[str, Any]) -> str:
    """Replace ``:name`` and ``{name}`` in ``soql`` with safely quoted values from ``namespace``.

    The rules are those of ``params=`` (:mod:`sfnotebook._soql_bind`), with names looked up in
    the notebook; a binding problem is a one-line :class:`UsageError`.

    Parameters
    ----------
    soql
        SOQL text. Outside string literals ``:name`` and ``{name}`` become complete literals;
        inside them ``{name}`` inserts the escaped text and ``{name:like}`` escapes ``%`` and
        ``_`` too. ``{{``/``}}`` are literal braces. Names may be dotted (``{cfg.region}``).
    namespace
        Where names are looked up (the notebook's user namespace).

    Returns
    -------
    str
        The SOQL with values bound.

    Raises
    ------
    UsageError
        An unknown name, an unquotable value, or an unterminated string literal.

    Examples
    --------
    >>> bind_soql("SELECT Id FROM Account WHERE Name = :n", {"n": "O'Brien"})
    "SELECT Id FROM Account WHERE Name = 'O\\\\'Brien'"
    >>> bind_soql("SELECT Id FROM Account WHERE Id IN {ids}", {"ids": ["a", "b"]})
    "SELECT Id FROM Account WHERE Id IN ('a','b')"
    """
    try:
        return bind(soql, namespace, source="notebook")
    except SoqlBindError as exc:
        raise UsageError(str(exc)) from None


# ------------------------------------------------------------------------------ options


@dataclass
class _Options:
    output: str | None = None
    connection: str | None = None
    include_deleted: bool = False
    quiet: bool = False
    rest: str = ""
    concurrency: int | None = None  # %%soql --concurrency N: query pages in flight at once


_HELP = {
    "soql": "usage: %%soql [-o NAME | NAME] [-c VAR_OR_PROFILE] [--include-deleted] [-q] "
    "[--concurrency N]",
    "sfreport": "usage: %sfreport [-o NAME] [-c VAR_OR_PROFILE] REPORT_ID_OR_NAME",
}


def _parse(line: str, *, magic: str, positional_output: bool) -> _Options:
    """Options of a magic line; the words that are not options are kept in ``rest``."""
    try:
        words = shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"{exc}. {_HELP[magic]}") from None
    opts = _Options()
    rest: list[str] = []
    it = iter(words)
    for word in it:
        if word in ("-o", "--out", "--output", "-c", "--connection"):
            value = next(it, None)
            if value is None or not value.isidentifier():
                raise UsageError(f"{word} needs a Python variable name. {_HELP[magic]}")
            if word in ("-c", "--connection"):
                opts.connection = value
            else:
                opts.output = value
        elif word in ("--include-deleted", "--all"):
            opts.include_deleted = True
        elif word in ("-q", "--quiet"):
            opts.quiet = True
        elif word == "--concurrency" and magic == "soql":
            value = next(it, None)
            if value is None or not value.isdigit() or int(value) < 1:
                raise UsageError(f"--concurrency needs a whole number, 1 or more. {_HELP[magic]}")
            opts.concurrency = int(value)
        elif word.startswith("-") and not rest:
            raise UsageError(f"Unknown option {word}. {_HELP[magic]}")
        else:
            rest.append(word)
    if positional_output and rest:
        if len(rest) > 1 or not rest[0].isidentifier() or opts.output:
            raise UsageError(f"Unexpected {' '.join(rest)!r}. {_HELP[magic]}")
        opts.output = rest[0]
        rest = []
    opts.rest = " ".join(rest)
    return opts


def _split_line_soql(line: str) -> tuple[str, str]:
    """``-o df --connection org SELECT ...`` -> (the options, the SOQL)."""
    m = re.search(r"(?i)(^|\s)(SELECT|FIND)\b", line)
    if not m:
        return "", line
    return line[: m.start(2)], line[m.start(2) :]


# ------------------------------------------------------------------------------ magics


@magics_class
class SfNotebookMagics(Magics):  # type: ignore[misc]
    """``%%soql`` / ``%soql`` (SOQL -> DataFrame) and ``%sfreport`` (a report -> DataFrame)."""

    @no_var_expand  # type: ignore[misc]
    @line_cell_magic  # type: ignore[misc]
    def soql(self, line: str, cell: str | None = None) -> Any:
        """Run SOQL on the default connection and return the DataFrame.

        ``%%soql [-o NAME | NAME] [-c VAR_OR_PROFILE] [--include-deleted] [-q]`` with the SOQL
        in the cell, or ``df = %soql SELECT ...`` on one line. ``:name`` and ``{name}`` bind
        notebook variables, safely quoted. ``-q`` stores without displaying. ``-c uat`` runs
        on the connection of the profile ``uat`` (connecting if none is open).
        ``--concurrency N``: query pages fetched at once (``org.query(concurrency=N)``).
        """
        if cell is None:
            option_text, soql = _split_line_soql(line)
            opts = _parse(option_text, magic="soql", positional_output=False)
            if opts.rest:
                raise UsageError(f"Unexpected {opts.rest!r} before the SOQL. {_HELP['soql']}")
        else:
            opts = _parse(line, magic="soql", positional_output=True)
            soql = cell
        soql = soql.strip()
        if not soql:
            raise UsageError("No SOQL to run. " + _HELP["soql"])
        namespace = self._user_ns
        bound = bind_soql(soql, namespace)
        conn = self._connection(opts.connection)
        options: dict[str, Any] = {"include_deleted": True} if opts.include_deleted else {}
        if opts.concurrency is not None:
            options["concurrency"] = opts.concurrency
        result = conn.query(bound, **options)
        return self._finish(result, opts)

    @no_var_expand  # type: ignore[misc]
    @line_magic  # type: ignore[misc]
    def sfreport(self, line: str) -> Any:
        """Run a report (Id or name) and show its details; ``-o NAME`` stores the result.

        ``%sfreport`` without a report lists the reports the user can see.
        """
        opts = _parse(line, magic="sfreport", positional_output=False)
        conn = self._connection(opts.connection)
        report = opts.rest.strip()
        result = conn.reports() if not report else conn.report(report)
        return self._finish(result, opts)

    # -- helpers ------------------------------------------------------------------------------
    @property
    def _user_ns(self) -> dict[str, Any]:
        if self.shell is None:  # only before registration; IPython always sets it
            raise UsageError("The sfnotebook magics are not attached to an IPython shell.")
        return self.shell.user_ns  # type: ignore[no-any-return]

    def _connection(self, variable: str | None) -> Any:
        from sfnotebook import connection

        if variable is None:
            return connection.get_default()
        if variable in self._user_ns:
            conn = self._user_ns[variable]
            if not callable(getattr(conn, "query", None)):
                raise UsageError(
                    f"--connection {variable}: it is a {type(conn).__name__}, not an sfnotebook "
                    "connection (make one with sfnotebook.connect())."
                )
            return conn
        opened = connection.open_connection(variable)
        if opened is not None:
            return opened
        try:
            return connection.connect(profile=variable, set_default=False)
        except MissingSettingError as exc:
            raise UsageError(
                f"--connection {variable}: no such variable in the notebook, no open connection "
                f"of that name, and no profile {variable!r} to connect with: {exc}"
            ) from None

    def _finish(self, result: Any, opts: _Options) -> Any:
        if opts.output:
            self._user_ns[opts.output] = result
            if not opts.quiet:
                print(_stored(result, opts.output))  # the cell says where its result went
        return None if opts.quiet else result


def _stored(result: Any, name: str) -> str:
    """``Stored 1,204 rows in `accts` (from cache, 12 min old)``."""
    from sfnotebook._meta import info_of
    from sfnotebook._rerun._age import describe_age

    rows = result if isinstance(result, int) else len(result)
    what = "the count" if isinstance(result, int) else f"{rows:,} row{'s' * (rows != 1)}"
    info = info_of(result) or {}
    age = info.get("cache_age_s") if info.get("from_cache") else None
    cached = f" (from cache, {describe_age(age)})" if age is not None else ""
    return f"Stored {what} in `{name}`{cached}"


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics and the concise error display (``%load_ext sfnotebook``)."""
    from sfnotebook.notebook._errors import install

    ipython.register_magics(SfNotebookMagics)
    install(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the error display (IPython drops the magics); so ``%reload_ext`` works."""
    from sfnotebook.notebook._errors import uninstall

    uninstall(ipython)

"""The demo org's dialect: one documented switch per behaviour Salesforce leaves unknown.

The demo org follows Salesforce's documentation by default. Where the documentation is silent
or the evidence disagrees (``../shared/fidelity-audit.md`` lists each case with its sources), the
behaviour is a field of :class:`Dialect`, and the client must be right under every value: the
live tests of the paths a switch touches run under each of its values.

Pass it as ``DemoOrg(dialect={"report_timeout_answer": "timeout-code"})``, as
``sfnotebook demo-org --dialect report_timeout_answer=timeout-code`` (several: comma-separated),
or change it at runtime with ``DemoOrg.set_dialect(...)``. Feature modules read it with
:func:`dialect_of`.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, get_args, get_type_hints

__all__ = ["Dialect", "DialectBox", "dialect_of"]

ReportTimeoutAnswer = Literal["documented", "timeout-code"]


@dataclass(frozen=True)
class Dialect:
    """How this demo org answers where Salesforce's own behaviour is not settled.

    The first value of each field's ``Literal`` is the default. Every field documents what is
    known, with the source, and what each value does.

    report_timeout_answer
        How a sync report run that takes too long fails (fidelity-audit D1, 1g).
        ``"documented"``: 500 with the generic message of Salesforce's Report Error Codes page,
        "We ran into an error when running this report. Try to re-submit your query.", and no
        ``errorCode`` (the page lists none; the real body's code is UNVERIFIED).
        ``"timeout-code"``: the demo's older invention, 500 ``REPORT_TIMEOUT``.
    """

    report_timeout_answer: ReportTimeoutAnswer = "documented"

    def __post_init__(self) -> None:
        for name, allowed in self.choices().items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(
                    f"dialect {name} must be one of {', '.join(map(repr, allowed))}, got {value!r}"
                )

    @classmethod
    def choices(cls) -> dict[str, tuple[Any, ...]]:
        """Every switch and its values, the default first."""
        hints = get_type_hints(cls)
        return {f.name: get_args(hints[f.name]) for f in fields(cls)}

    @classmethod
    def parse(cls, text: str) -> Dialect:
        """``"name=value,name=value"`` (the command line's form) into a :class:`Dialect`."""
        options: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"a dialect switch is name=value, got {item!r}")
            options[name.strip()] = _typed(cls, name.strip(), value.strip())
        return cls.of(options)

    @classmethod
    def of(cls, value: Dialect | dict[str, Any] | str | None) -> Dialect:
        """A :class:`Dialect` from any of the forms ``DemoOrg`` accepts."""
        if value is None:
            return cls()
        if isinstance(value, Dialect):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        unknown = set(value) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(
                f"unknown dialect switches {sorted(unknown)}; known: {sorted(cls.choices())}"
            )
        return cls(**value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def changed(self, **options: Any) -> Dialect:
        """A copy with these switches changed (unknown names raise ``TypeError``)."""
        unknown = set(options) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(
                f"unknown dialect switches {sorted(unknown)}; known: {sorted(self.choices())}"
            )
        return replace(self, **options)


def _typed(cls: type[Dialect], name: str, text: str) -> Any:
    """The command line's string for a switch, as the switch's own type (str, int or bool)."""
    allowed = cls.choices().get(name)
    if allowed is None:
        raise TypeError(f"unknown dialect switch {name!r}; known: {sorted(cls.choices())}")
    for value in allowed:
        if str(value).lower() == text.lower():
            return value
    return text  # refused with the list of values by Dialect.__post_init__


class DialectBox:
    """The org's current dialect, replaceable at runtime (tests switch it between calls)."""

    def __init__(self, dialect: Dialect) -> None:
        self._lock = threading.Lock()
        self._dialect = dialect

    @property
    def current(self) -> Dialect:
        return self._dialect

    def update(self, **options: Any) -> Dialect:
        with self._lock:
            self._dialect = self._dialect.changed(**options)
            return self._dialect


def dialect_of(org: Any) -> Dialect:
    """The dialect of an :class:`~sfnotebook_demo.state.OrgState` (the default if it has none)."""
    box = org.features.get("dialect")
    return box.current if isinstance(box, DialectBox) else Dialect()

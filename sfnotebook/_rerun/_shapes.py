"""A result taken apart into frames and plain data for the cache, and put back together.

Shapes: a ``count`` (``SELECT COUNT()``'s int), one ``frame``, a query with ``children``
(``QueryResult``: the parent frame and one frame per relationship) and a ``report``
(``ReportResult``, kept whole: details, aggregates and the first run's payload, through its
``_cache_parts`` / ``_from_cache_parts``). The wing that returns a composite result names the
function that rebuilds it, so this module imports no wing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sfnotebook._rerun._frames import NotCacheable

__all__ = ["Restorers", "rebuild", "take_apart"]

#: ``{shape: rebuild function}`` a wing gives for its composite results.
Restorers = Mapping[str, Callable[..., Any]]


def take_apart(result: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(shape, {part name: frame}, extra plain data)`` of a verb's result."""
    if isinstance(result, int) and not isinstance(result, bool):
        return "count", {}, {"count": result}
    parts_of = getattr(result, "_cache_parts", None)
    if callable(parts_of):
        frames, extra = parts_of()
        return "report", dict(frames), dict(extra)
    children = getattr(result, "children", None)
    if isinstance(children, dict) and hasattr(result, "frame"):
        frames = {"frame": result.frame}
        frames.update({f"child:{name}": child for name, child in children.items()})
        return "children", frames, {"children": list(children)}
    if hasattr(result, "columns") or hasattr(result, "schema"):
        return "frame", {"frame": result}, {}
    raise NotCacheable(f"a {type(result).__name__} result is not kept")


def rebuild(shape: str, frames: dict[str, Any], extra: dict[str, Any], restorers: Restorers) -> Any:
    """The result :func:`take_apart` took apart."""
    if shape == "count":
        return int(extra["count"])
    if shape == "frame":
        return frames["frame"]
    make = restorers.get(shape)
    if make is None:
        raise KeyError(f"no way to rebuild a {shape!r} result here")
    if shape == "children":
        return make(frames["frame"], {name: frames[f"child:{name}"] for name in extra["children"]})
    return make(frames, extra)

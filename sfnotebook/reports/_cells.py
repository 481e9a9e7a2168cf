"""Report cells for the report wing: reading one cell, and one column through the dtype table.

A cell is ``{"label": display text, "value": typed value}``; the readers live with the other
value parsers in :mod:`sfnotebook._values`, and each report ``dataType`` is read by its row of
the package's one dtype table (:mod:`sfnotebook.dtypes`), so text, date and datetime columns of
a report get the same types as the SOQL side's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sfnotebook._values import cell_text, cell_value, currency_code, number
from sfnotebook.dtypes import read_cells

__all__ = ["cell_text", "cell_value", "convert_cells", "currency_code", "number"]


def convert_cells(cells: Sequence[Mapping[str, Any]], data_type: str) -> tuple[Any, Any]:
    """One column's cells -> (its row of the dtype table, an Arrow array), by ``dataType``."""
    return read_cells(cells, data_type)

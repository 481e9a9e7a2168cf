"""HTML reprs: what they show, that they escape, and that no token gets in."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd

from sfnotebook.display import connection_html, error_html, report_html, usage_text

TOKEN = "00DDE0000000001!AQsecretpartofthetoken"


def fake_connection(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "username": "ana@example.com",
        "org_id": "00DDE0000000001AAA",
        "instance_url": "https://acme.my.salesforce.com",
        "api_version": "68.0",
        "api_usage": (1234, 15000),
        "identity": {"display_name": "Ana <Analyst>"},
        "token": SimpleNamespace(access_token=TOKEN),
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def test_connection_html_shows_identity_and_usage() -> None:
    out = connection_html(fake_connection())
    for text in (
        "ana@example.com",
        "00DDE0000000001AAA",
        "https://acme.my.salesforce.com",
        "v68.0",
        "1,234 of 15,000 requests (8.2%)",
    ):
        assert text in out
    assert "Ana &lt;Analyst&gt;" in out  # escaped
    assert "<Analyst>" not in out
    assert TOKEN not in out


def test_connection_html_escapes_hostile_values() -> None:
    out = connection_html(fake_connection(username="<script>alert(1)</script>", identity={}))
    assert "<script>" not in out
    assert "&lt;script&gt;" in out


def test_usage_text() -> None:
    assert usage_text(None).startswith("reported by the first API call")
    assert usage_text((0, 0)) == "0 of 0 requests in the last 24 hours"


def test_error_html_keeps_lines_and_escapes() -> None:
    out = error_html("line <1>\nline 2")
    assert "line &lt;1&gt;<br>line 2" in out


def report_like(**overrides: Any) -> SimpleNamespace:
    details = pd.DataFrame({"Stage": ["Won", "Lost <x>"], "Amount": [10.0, 20.0]})
    aggregates = pd.DataFrame(
        {"Record Count": [1, 1], "Sum of Amount": [10.0, 20.0], "Is Total": [False, True]}
    )
    values: dict[str, Any] = {
        "name": "Pipeline & Co",
        "id": "00ODm0000000004MAA",
        "format": "SUMMARY",
        "details": details,
        "aggregates": aggregates,
        "groupings": ["Stage"],
        "runs": 1,
        "row_count": 2,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def test_report_html_summary() -> None:
    out = report_html(report_like())
    assert "Report: Pipeline &amp; Co" in out
    assert "00ODm0000000004MAA" in out
    assert "Summary" in out
    assert "Detail rows" in out and ">2<" in out
    assert "Groupings" in out and ">Stage<" in out
    assert "Record Count, Sum of Amount<" in out  # without the "Is Total" marker
    assert 'class="dataframe' in out
    assert "Lost &lt;x&gt;" in out  # frame cells escaped too


def test_report_html_head_only_and_caption() -> None:
    big = pd.DataFrame({"n": range(50)})
    out = report_html(report_like(details=big, row_count=50, groupings=[]), max_rows=5)
    assert "first 5 of 50 rows" in out
    assert out.count("<tr>") < 20
    assert "none" in out  # no groupings


def test_report_html_reads_groupings_from_metadata() -> None:
    result = SimpleNamespace(
        details=pd.DataFrame({"a": [1]}),
        metadata={
            "name": "M",
            "reportFormat": "MATRIX",
            "groupingsDown": [{"name": "OWNER"}],
            "groupingsAcross": [{"name": "CLOSE_DATE"}],
        },
    )
    out = report_html(result)
    assert "Matrix" in out
    assert "OWNER (rows), CLOSE_DATE (columns)" in out


def test_usage_before_any_call_says_when_it_comes() -> None:
    out = connection_html(fake_connection(api_usage=None))
    assert "not reported yet" not in out
    assert "reported by the first API call" in out and "org.limits()" in out


def test_listing_and_card_html_escape_their_text() -> None:
    from sfnotebook.display import key_value_html, listing_html

    listing = listing_html("<b>caption</b>", "<table></table>", note="a & b")
    assert "&lt;b&gt;caption" in listing and "a &amp; b" in listing
    assert "<table></table>" in listing  # pandas' own, already escaped markup
    card = key_value_html("T", [("k", "<v>")], css_class="c", footer="<hint>")
    assert "&lt;v&gt;" in card and "&lt;hint&gt;" in card and card.endswith("</div>")

"""Progress bars: a one-line summary when done, nothing claimed when not, no "0.00/?"."""

from __future__ import annotations

import io
from typing import Any

import pytest

from sfnotebook import _progress
from sfnotebook._progress import NullBar, SummaryBar, Tally, progress_bar, summary_text
from sfnotebook._session import ApiSession
from sfnotebook.bulk import _Progress


class Inner:
    """What SummaryBar uses of a tqdm bar, recorded."""

    def __init__(self, total: int | None) -> None:
        self.n = 0
        self.total = total
        self.bar_format: str | None = None
        self.desc: str | None = None
        self.closed = False

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def reset(self, total: int | None = None) -> None:
        self.n, self.total = 0, total

    def close(self) -> None:
        self.closed = True


def _session(requests: int) -> ApiSession:
    session = ApiSession()
    session.stats["requests"] = requests
    return session


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"rows": 49028, "runs": 26, "calls": 27, "elapsed": 4.06}, "49,028 rows · 26 runs · 27 API calls · 4.1 s"),
        ({"rows": 1, "runs": 1, "calls": 1}, "1 rows · 1 run · 1 API call"),
        ({"rows": 120000, "state": "JobComplete"}, "JobComplete · 120,000 rows"),
    ],
)  # fmt: skip
def test_summary_text(kwargs: dict[str, Any], text: str) -> None:
    assert summary_text(**kwargs) == text


def test_a_finished_bar_leaves_its_summary_with_the_calls_since_the_verb_started() -> None:
    session = _session(10)
    tally = Tally.start(session)
    out = io.StringIO()
    bar = SummaryBar(Inner(5), unit="rows", tally=tally, runs=lambda: 3, out=out)
    bar.update(5)
    session.stats["requests"] = 14
    bar.close()
    bar.close()  # once only
    assert out.getvalue().count("\n") == 1
    assert out.getvalue().startswith("5 rows · 3 runs · 4 API calls · ")
    assert out.getvalue().rstrip().endswith(" s") and bar.bar.closed


def test_an_unfinished_bar_claims_nothing() -> None:
    out = io.StringIO()
    bar = SummaryBar(Inner(5), unit="rows", tally=None, runs=None, out=out)
    bar.update(2)
    bar.close()
    assert out.getvalue() == "" and bar.bar.closed and bar.summary is None


def test_a_bar_left_by_an_error_claims_nothing() -> None:
    out = io.StringIO()
    with (
        pytest.raises(RuntimeError),
        SummaryBar(Inner(None), unit="rows", tally=None, runs=None, out=out),
    ):
        raise RuntimeError("boom")
    assert out.getvalue() == ""


def test_status_shows_text_alone_until_counting_starts() -> None:
    bar = SummaryBar(Inner(None), unit="rows", tally=None, runs=None, out=io.StringIO())
    bar.status("Bulk job 750: InProgress · 40,000 rows")
    assert bar.bar.bar_format == "{desc}" and bar.bar.desc.endswith("40,000 rows")
    bar.reset(total=10)
    assert bar.bar.bar_format is None and bar.total == 10


def test_a_real_tqdm_bar_prints_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    bar = progress_bar(3, enabled=True, tally=Tally.start(_session(0)))
    assert isinstance(bar, SummaryBar)
    bar.status("waiting")  # tqdm accepts the text-only format
    bar.reset(total=3)
    bar.update(3)
    bar.close()
    out = capsys.readouterr()
    assert out.out.startswith("3 rows · 0 API calls · ")
    assert "0.00/?" not in out.err


def test_hidden_bars_stay_silent(capsys: pytest.CaptureFixture[str]) -> None:
    bar = progress_bar(3)
    assert isinstance(bar, NullBar)
    bar.status("x")
    bar.finish_state("JobComplete")
    bar.update(3)
    bar.close()
    assert capsys.readouterr().out == ""


def test_the_bulk_bar_shows_state_and_rows_then_sums_up(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[SummaryBar] = []
    out = io.StringIO()

    def fake_bar(total: int | None, **kw: Any) -> SummaryBar:
        bar = SummaryBar(Inner(total), unit="rows", tally=kw.get("tally"), runs=None, out=out)
        made.append(bar)
        return bar

    import sfnotebook.bulk as bulk

    monkeypatch.setattr(bulk, "progress_bar", fake_bar)
    session = _session(1)
    progress = _Progress(True, "750xx", Tally.start(session))
    inner = made[0].bar
    assert inner.desc == "Bulk job 750xx: queued" and inner.bar_format == "{desc}"
    progress.state("InProgress", 40000)
    assert inner.desc == "Bulk job 750xx: InProgress · 40,000 rows"
    progress.state("JobComplete", 120000)
    progress.downloading(120000)
    assert inner.bar_format is None and inner.desc == "Downloading"
    progress.update(120000)
    session.stats["requests"] = 5
    progress.close()
    assert out.getvalue().startswith("JobComplete · 120,000 rows · 4 API calls · ")


def test_tally_without_a_session_counts_no_calls() -> None:
    assert Tally.start(None).calls() is None
    assert _progress._requests(object()) == 0

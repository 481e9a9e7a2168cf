"""The demo org's dialect: parsed, validated, carried to a subprocess org, changed at runtime."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from sfnotebook_demo import DemoOrg
from sfnotebook_demo.dialect import Dialect


def test_every_switch_defaults_to_its_first_value() -> None:
    defaults = Dialect().as_dict()
    assert defaults == {name: values[0] for name, values in Dialect.choices().items()}
    assert all(len(values) >= 2 for values in Dialect.choices().values())


def test_the_command_line_form() -> None:
    assert Dialect.parse("report_timeout_answer=timeout-code") == Dialect(
        report_timeout_answer="timeout-code"
    )
    assert Dialect.parse("") == Dialect()


@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        ("nonsense=1", TypeError, "unknown dialect switch 'nonsense'"),
        ("report_timeout_answer", ValueError, "name=value"),
        ("report_timeout_answer=slow", ValueError, "'documented', 'timeout-code'"),
    ],
)
def test_a_bad_switch_is_refused_with_the_choices(
    text: str, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        Dialect.parse(text)


def test_a_bad_dialect_is_refused_before_any_server_starts() -> None:
    with pytest.raises(TypeError, match="unknown dialect switches"):
        DemoOrg(dialect={"nonsense": 1})


def test_the_command_line_refuses_a_bad_switch() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sfnotebook_demo", "--dialect", "report_timeout_answer=x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "report_timeout_answer must be one of" in result.stderr


@pytest.mark.parametrize("subprocess_mode", [False, True], ids=["thread", "subprocess"])
def test_the_dialect_reaches_the_server_and_changes_at_runtime(subprocess_mode: bool) -> None:
    with DemoOrg(
        opportunities=200, subprocess=subprocess_mode, dialect="report_timeout_answer=timeout-code"
    ) as demo:
        assert demo.stats()["dialect"]["report_timeout_answer"] == "timeout-code"
        assert demo.set_dialect(report_timeout_answer="documented") == Dialect().as_dict()
        assert demo.stats()["dialect"] == Dialect().as_dict()
        if subprocess_mode:  # the admin endpoint refuses a bad switch with a 400
            with pytest.raises(Exception, match="must be one of"):
                demo.set_dialect(report_timeout_answer="x")
        else:
            with pytest.raises(ValueError, match="must be one of"):
                demo.set_dialect(report_timeout_answer="x")
        assert requests.get(demo.url + "/services/data/", verify=demo.ca_bundle, timeout=30).ok

"""Unit tests of the demo org's fault configuration (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from sfnotebook_demo import faults as faults_module
from sfnotebook_demo.faults import FaultConfig


def draws(config: FaultConfig, n: int) -> list[str | None]:
    return [config.transport_fault() for _ in range(n)]


def test_defaults_inject_nothing() -> None:
    config = FaultConfig()
    assert draws(config, 200) == [None] * 200
    assert config.delay() == 0.0
    assert not any(config.session_expiry_due() for _ in range(200))
    assert config.counts_dict() == {}


def test_same_seed_same_faults() -> None:
    a = FaultConfig(error_rate=0.3, drop_rate=0.2, seed=7)
    b = FaultConfig(error_rate=0.3, drop_rate=0.2, seed=7)
    c = FaultConfig(error_rate=0.3, drop_rate=0.2, seed=8)
    seq = draws(a, 100)
    assert seq == draws(b, 100)
    assert seq != draws(c, 100)


def test_rates_give_both_kinds_and_count_them() -> None:
    config = FaultConfig(error_rate=0.3, drop_rate=0.2, seed=1)
    seq = draws(config, 1000)
    errors, drops = seq.count("error"), seq.count("drop")
    assert 150 < errors < 350  # 0.8 * 0.3 of 1000 expected: a wide band, never flaky for seed 1
    assert 120 < drops < 280
    assert config.counts_dict() == {"server_unavailable": errors, "dropped_connection": drops}


def test_rate_one_always_faults() -> None:
    assert draws(FaultConfig(error_rate=1.0), 20) == ["error"] * 20
    assert draws(FaultConfig(drop_rate=1.0), 20) == ["drop"] * 20


def test_exact_counts_come_first_then_stop() -> None:
    config = FaultConfig(error_next=2, drop_next=1)
    assert draws(config, 5) == ["drop", "error", "error", None, None]
    assert config.error_next == 0 and config.drop_next == 0
    assert config.counts_dict() == {"server_unavailable": 2, "dropped_connection": 1}


def test_every_count_based_fault_in_its_order() -> None:
    config = FaultConfig(drop_next=1, error_next=1, cut_next=1, stall_next=1, limit_next=1)
    assert draws(config, 6) == ["drop", "error", "cut", "stall", "limit", None]
    assert config.counts_dict() == {
        "dropped_connection": 1,
        "server_unavailable": 1,
        "cut_body": 1,
        "stalled": 1,
        "request_limit_exceeded": 1,
    }


def test_skip_next_lets_requests_pass_before_the_counted_faults() -> None:
    config = FaultConfig(error_next=1, skip_next=2, error_status=500)
    assert draws(config, 4) == [None, None, "error", None]
    assert config.counts_dict() == {"server_error": 1}
    assert draws(FaultConfig(skip_next=3), 2) == [None, None]  # nothing pending: nothing skipped


def test_methods_narrow_the_faults() -> None:
    config = FaultConfig(methods=("get",))
    assert config.methods == ("GET",)
    assert config.applies("data", "/services/data/v68.0/limits", "GET") is True
    assert config.applies("data", "/services/data/v68.0/jobs/query", "POST") is False
    assert config.applies("data", "/services/data/v68.0/jobs/query") is True  # method unknown


def test_expire_after_requests_fires_once() -> None:
    config = FaultConfig(expire_after_requests=3)
    # Three requests succeed, the fourth finds its session expired; then never again.
    assert [config.session_expiry_due() for _ in range(10)] == [False] * 3 + [True] + [False] * 6
    assert config.counts_dict() == {"session_expired": 1}
    config.update(expire_after_requests=1)  # setting faults again re-arms it
    assert [config.session_expiry_due() for _ in range(4)] == [False, True, False, False]


def test_expire_every_requests_windows() -> None:
    config = FaultConfig(expire_every_requests=3)
    assert [config.session_expiry_due() for _ in range(8)] == [
        False,
        False,
        False,
        True,
        False,
        False,
        False,
        True,
    ]
    assert config.counts_dict() == {"session_expired": 2}


def test_expire_after_seconds_uses_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000.0]

    class FakeTime:
        @staticmethod
        def time() -> float:
            return now[0]

    monkeypatch.setattr(faults_module, "time", FakeTime)
    config = FaultConfig(expire_after_seconds=60)
    assert config.session_expiry_due() is False
    now[0] += 59
    assert config.session_expiry_due() is False
    now[0] += 2
    assert config.session_expiry_due() is True
    assert config.session_expiry_due() is False  # the window restarted
    now[0] += 30
    config.sessions_renewed()  # a new token restarts the window
    now[0] += 59
    assert config.session_expiry_due() is False


def test_latency_counted() -> None:
    config = FaultConfig(latency=0.25)
    assert config.delay() == 0.25
    assert config.counts_dict() == {"latency": 1}


def test_connect_latency_counted_per_connection_only() -> None:
    config = FaultConfig(connect_latency=0.2)
    assert config.connect_delay() == 0.2
    assert config.delay() == 0.0  # per request: nothing
    assert config.counts_dict() == {"connect_latency": 1}
    assert FaultConfig().connect_delay() == 0.0


def test_connect_latency_charged_once_per_new_connection(demo_org: Any) -> None:
    """Counted, not timed: one new connection for a session's two requests."""
    import requests

    demo_org.set_faults(connect_latency=0.001)
    try:
        before = demo_org.stats()["faults"].get("connect_latency", 0)
        with requests.Session() as session:
            session.verify = demo_org.ca_bundle
            session.trust_env = False  # REQUESTS_CA_BUNDLE would beat .verify
            for _ in range(2):
                session.get(f"{demo_org.url}/services/data/", timeout=30)
        after = demo_org.stats()["faults"].get("connect_latency", 0)
    finally:
        demo_org.set_faults(connect_latency=0.0)
    assert after - before == 1


@pytest.mark.parametrize(
    ("kind", "path", "apply_to", "pattern", "expected"),
    [
        ("data", "/services/data/v68.0/query", ("data",), None, True),
        ("token", "/services/oauth2/token", ("data",), None, False),
        ("token", "/services/oauth2/token", ("data", "token"), None, True),
        ("identity", "/id/x/y", ("data",), None, False),
        ("data", "/services/data/v68.0/query/01gXX-2000", ("data",), r"/query/.+", True),
        ("data", "/services/data/v68.0/query", ("data",), r"/query/.+", False),
    ],
)
def test_applies(
    kind: str, path: str, apply_to: tuple[str, ...], pattern: str | None, expected: bool
) -> None:
    assert FaultConfig(apply_to=apply_to, path_pattern=pattern).applies(kind, path) is expected


@pytest.mark.parametrize(
    "options",
    [
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"latency": -1},
        {"connect_latency": -1},
        {"apply_to": ("everything",)},
        {"error_status": 404},
        {"stall_seconds": -1},
    ],
)
def test_invalid_options_rejected(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FaultConfig(**options)  # type: ignore[arg-type]


def test_update_validates_and_keeps_old_values_on_error() -> None:
    config = FaultConfig(error_rate=0.1)
    with pytest.raises(ValueError):
        config.update(error_rate=2.0)
    assert config.error_rate == 0.1
    with pytest.raises(TypeError, match="unknown fault options"):
        config.update(explode=True)
    with pytest.raises(TypeError):
        config.update(counts={})  # bookkeeping is not settable


def test_update_reseeds_and_accepts_lists() -> None:
    config = FaultConfig(error_rate=0.5, seed=3)
    first = draws(config, 30)
    config.update(seed=3, apply_to=["data", "token"])
    assert draws(config, 30) == first
    assert config.apply_to == ("data", "token")


def test_as_dict_round_trips() -> None:
    config = FaultConfig(latency=0.1, request_limit=5, fail_bulk_jobs=True, apply_to=("token",))
    again = FaultConfig(**config.as_dict())
    assert again == config
    assert "counts" not in config.as_dict()
    assert config.as_dict()["apply_to"] == ["token"]


def test_feature_switches_readable_with_getattr() -> None:
    config = FaultConfig(expire_locators=True)
    assert getattr(config, "expire_locators", False) is True
    assert getattr(config, "report_timeout", False) is False
    config.record("expired_locator")
    config.record("expired_locator")
    assert config.counts_dict() == {"expired_locator": 2}

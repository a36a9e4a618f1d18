"""`rounds_of`: a ratio's two sides are measured in turns, so both see the same machine."""

from __future__ import annotations

from deltatrace.benchmarks import rounds_of


def test_it_takes_the_sides_in_turns_with_setup_before_each_run() -> None:
    calls: list[str] = []
    seconds = rounds_of(
        3,
        {"ours": lambda: calls.append("ours"), "theirs": lambda: calls.append("theirs")},
        lambda: calls.append("setup"),
    )
    assert calls == ["setup", "ours", "setup", "theirs"] * 3
    assert [len(seconds["ours"]), len(seconds["theirs"])] == [3, 3]


def test_it_times_each_run_on_its_own() -> None:
    ticks = iter(range(1_000_000))

    def slow() -> None:
        sum(range(200_000))

    seconds = rounds_of(2, {"fast": lambda: next(ticks), "slow": slow})
    # Every run has its own wall time; the slow side's runs take longer than the fast side's.
    assert all(s > 0 for s in seconds["fast"] + seconds["slow"])
    assert min(seconds["slow"]) > max(seconds["fast"])

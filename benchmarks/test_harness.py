"""The harness itself: timing order really alternates, and the README rewrite touches only its block."""

from __future__ import annotations

import pytest

from benchmarks.readme_numbers import END, START, rewrite
from benchmarks.timing import interleaved


def test_interleaving_rotates_which_contender_goes_first():
    calls = []
    contenders = {name: (lambda n=name: calls.append(n)) for name in "abc"}
    timings = interleaved(contenders, runs=6, warmup=1)
    timed = calls[3:]  # after one warm-up round of a, b, c
    firsts = [timed[3 * r] for r in range(6)]
    assert firsts == ["a", "b", "c", "a", "b", "c"]
    assert all(len(v) == 6 and (v >= 0).all() for v in timings.wall.values())
    assert all((timings.cpu[n] >= 0).all() for n in "abc")


def test_readme_rewrite_replaces_only_the_marked_block_and_is_idempotent():
    readme = f"# title\n\n{START}\nold numbers\n{END}\n\nafter\n"
    once = rewrite(readme, "| a | 1 |")
    assert once == f"# title\n\n{START}\n| a | 1 |\n{END}\n\nafter\n"
    assert rewrite(once, "| a | 1 |") == once
    with pytest.raises(ValueError, match="numbers:start"):
        rewrite("# no markers\n", "x")

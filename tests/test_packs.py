"""How a sweep's runs are cut into packs (pack: N), and the pack step's bookkeeping."""

from __future__ import annotations

import pytest

from thesis_ml.pipeline.packs import plan_packs, read_members, write_members
from thesis_ml.pipeline.sweep import expand_sweep


def _runs(grid: dict, seeds: list[int]):
    return expand_sweep({"grid": grid, "seeds": seeds, "conditional": [], "runs": []})


def _members(packs) -> list[tuple[str, ...]]:
    return [pack.runs for pack in packs]


def test_packs_hold_at_most_n_runs_of_one_seed_in_the_sweeps_order():
    runs = _runs({"trainer.lr": [0.1, 0.2, 0.3, 0.4, 0.5]}, [0, 1])
    packs = plan_packs(runs, 2)
    assert [len(pack.runs) for pack in packs] == [2, 2, 1, 2, 2, 1]
    for pack in packs:
        assert len({name.rsplit("seed-", 1)[1] for name in pack.runs}) == 1
    assert sorted(name for pack in packs for name in pack.runs) == sorted(r.name for r in runs)
    assert packs[0].runs == ("lr-0.1__seed-0", "lr-0.2__seed-0")
    assert len({pack.name for pack in packs}) == len(packs)


def test_adding_a_seed_adds_packs_and_changes_none():
    before = plan_packs(_runs({"trainer.lr": [0.1, 0.2, 0.3]}, [0, 1]), 2)
    after = plan_packs(_runs({"trainer.lr": [0.1, 0.2, 0.3]}, [0, 1, 2]), 2)
    assert set(before) < set(after)
    assert {run for pack in set(after) - set(before) for run in pack.runs} == {
        "lr-0.1__seed-2",
        "lr-0.2__seed-2",
        "lr-0.3__seed-2",
    }


def test_replacing_a_grid_value_changes_only_the_packs_that_held_its_runs():
    before = plan_packs(_runs({"trainer.lr": [0.1, 0.2, 0.3, 0.4]}, [0]), 2)
    after = plan_packs(_runs({"trainer.lr": [0.1, 0.2, 0.3, 0.9]}, [0]), 2)
    assert _members(set(before) - set(after)) == [("lr-0.3__seed-0", "lr-0.4__seed-0")]
    assert _members(set(after) - set(before)) == [("lr-0.3__seed-0", "lr-0.9__seed-0")]


def test_pack_of_one_is_a_pack_per_run_and_zero_is_refused():
    runs = _runs({"trainer.lr": [0.1, 0.2]}, [0])
    assert _members(plan_packs(runs, 1)) == [(run.name,) for run in runs]
    with pytest.raises(ValueError, match="pack size 0"):
        plan_packs(runs, 0)


def test_members_file_is_named_by_its_content(tmp_path):
    members = [{"run": "a", "config": {"trainer": {"lr": 0.1}}}]
    path = write_members(tmp_path, members)
    assert read_members(path) == members
    assert write_members(tmp_path, members) == path
    other = write_members(tmp_path, [{"run": "a", "config": {"trainer": {"lr": 0.2}}}])
    assert other != path and other.parent == path.parent

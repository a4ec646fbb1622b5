"""Splits: clean data by record, noise by time, all parts disjoint, reproducible from the data."""

from __future__ import annotations

import json
from itertools import combinations

import pytest

from ulde.model.datadir import list_records
from ulde.model.splits import NEVER_TRAIN, SPLIT_NAMES, build_splits, load_splits, noise_bounds, split_hash, split_records


@pytest.mark.parametrize("database", ["cpsc2018", "mitdb"])
def test_committed_clean_splits_are_disjoint_by_record(database):
    parts = load_splits()["clean"][database]
    for a, b in combinations(SPLIT_NAMES, 2):
        assert not set(parts[a]) & set(parts[b]), f"{database}: {a} and {b} share records"
    assert all(len(parts[name]) == len(set(parts[name])) for name in SPLIT_NAMES)


def test_nstdb_clean_sources_never_in_train_or_val():
    parts = load_splits()["clean"]["mitdb"]
    for record in NEVER_TRAIN["mitdb"]:
        assert record in parts["test"]
        assert record not in parts["train"] + parts["val"]


def test_split_sizes_follow_7_2_1():
    parts = split_records([f"r{i:03d}" for i in range(100)])
    assert [len(parts[n]) for n in SPLIT_NAMES] == [70, 20, 10]


def test_split_is_deterministic_and_seed_dependent():
    records = [f"r{i:03d}" for i in range(40)]
    assert split_records(records) == split_records(list(reversed(records)))
    assert split_records(records, seed=1) != split_records(records, seed=2)


@pytest.mark.parametrize("n_samples", [650_000, 43_200, 1001])
def test_noise_parts_are_disjoint_and_cover_the_record_in_order(n_samples):
    bounds = noise_bounds(n_samples)
    edges = [bounds[name] for name in SPLIT_NAMES]
    assert edges[0][0] == 0 and edges[-1][1] == n_samples
    for (_, stop), (start, _) in zip(edges, edges[1:]):
        assert stop == start  # contiguous, no overlap
    assert noise_bounds(650_000) == {"train": (0, 455_000), "val": (455_000, 585_000), "test": (585_000, 650_000)}


def test_split_hash_changes_with_the_file(tmp_path):
    other = tmp_path / "splits.json"
    other.write_text(json.dumps(load_splits()) + " ")
    assert split_hash() != split_hash(other)


@pytest.mark.full_data
def test_committed_split_regenerates_from_the_data(full_data):
    listing = {db: list_records(full_data / db) for db in ("cpsc2018", "mitdb")}
    assert build_splits(listing) == load_splits()

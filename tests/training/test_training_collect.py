"""Demonstration collection: determinism, resumption, parallel workers, failures that lose nothing."""

import os

import numpy as np
import pytest

from ltc_drones.training import CollectSpec, DatasetError, DemoDataset, collect_demonstrations
from ltc_drones.training import collect as collect_module
from ltc_drones.training.storage import completed_episodes, load_episode, read_manifest

SPEC = CollectSpec("hover", "kin", base_seed=3)


def episodes_of(folder):
    return {k: load_episode(p) for k, p in completed_episodes(folder).items()}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        for name in a[k]:
            assert np.array_equal(a[k][name], b[k][name]), (k, name)


def test_collection_is_deterministic_and_resumes_without_duplicates(tmp_path):
    collect_demonstrations(SPEC, 4, tmp_path / "a", workers=1, progress=False)
    first = collect_demonstrations(SPEC, 2, tmp_path / "b", workers=1, progress=False)
    rest = collect_demonstrations(SPEC, 4, tmp_path / "b", workers=2, progress=False)
    assert (first.new_episodes, rest.new_episodes, rest.total_episodes) == (2, 2, 4)
    a, b = episodes_of(tmp_path / "a"), episodes_of(tmp_path / "b")
    assert_same(a, b)
    seeds = [int(e["seed"]) for e in a.values()]
    assert len(set(seeds)) == 4  # every episode its own seed
    again = collect_demonstrations(SPEC, 4, tmp_path / "b", workers=1, progress=False)
    assert again.new_episodes == 0


def test_manifest_records_the_env(tmp_path):
    collect_demonstrations(SPEC, 1, tmp_path, progress=False)
    m = read_manifest(tmp_path)
    assert (m["env_id"], m["obs"], m["act"], m["scenario"], m["ctrl_hz"]) == ("ltc_drones/Hover-v0", "kin", "vel",
                                                                             "nominal", 30)
    assert m["package_version"]


def test_a_different_request_for_the_same_folder_is_refused(tmp_path):
    collect_demonstrations(SPEC, 1, tmp_path, progress=False)
    with pytest.raises(DatasetError, match="act: folder has 'vel', asked for 'ctbr'.*another folder with --out"):
        collect_demonstrations(CollectSpec("hover", "kin", "ctbr", base_seed=3), 1, tmp_path, progress=False)
    with pytest.raises(DatasetError, match="base_seed: folder has 3, asked for 4.*another folder with --data"):
        collect_demonstrations(CollectSpec("hover", "kin", base_seed=4), 1, tmp_path, progress=False,
                               folder_option="--data")
    with pytest.raises(DatasetError, match="env_id"):
        DemoDataset(tmp_path).check_env(task="fly-to-target")


def _dies_on_episode_2(spec, folder, index):
    if index == 2:
        os._exit(13)  # a killed worker
    return _REAL(spec, folder, index)


_REAL = collect_module._expert_episode


def test_a_killed_worker_loses_no_written_episode(tmp_path, monkeypatch):
    monkeypatch.setattr(collect_module, "_expert_episode", _dies_on_episode_2)
    with pytest.raises(RuntimeError, match="Run the same command again to resume"):
        collect_demonstrations(SPEC, 5, tmp_path, workers=2, progress=False)
    survivors = episodes_of(tmp_path)  # every shard on disk is complete and readable
    assert 2 not in survivors
    monkeypatch.setattr(collect_module, "_expert_episode", _REAL)
    collect_demonstrations(SPEC, 5, tmp_path, workers=1, progress=False)
    assert sorted(completed_episodes(tmp_path)) == [0, 1, 2, 3, 4]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # stale temp files cleared
    for k, ep in survivors.items():  # what survived the crash was kept, not redone differently
        assert np.array_equal(ep["label"], load_episode(completed_episodes(tmp_path)[k])["label"])


def test_a_failed_write_leaves_no_partial_shard(tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full_disk)
    with pytest.raises(OSError, match="No space"):
        collect_demonstrations(SPEC, 2, tmp_path, workers=1, progress=False)
    assert completed_episodes(tmp_path) == {}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_windows_cross_episode_boundaries_with_resets(kin_demos):
    ds = DemoDataset(kin_demos)
    ids = list(range(len(ds)))
    rng = np.random.default_rng(0)
    batch = ds.sample(ids, 64, 40, 8, rng)
    assert batch.obs["kin"].shape == (64, 48, 16) and batch.label.shape == (64, 48, 4)
    assert batch.loss_mask[:, :8].sum() == 0 and batch.loss_mask[:, 8:].all()
    assert batch.episode_start[:, 1:].any()  # some window crosses into the next episode
    # A window's first step after a reset is an episode's first observation (the drone at rest).
    b, t = np.argwhere(batch.episode_start)[0]
    assert np.allclose(batch.obs["kin"][b, t, 3:6], 0.0, atol=1e-6)


def test_split_is_by_episode(kin_demos):
    ds = DemoDataset(kin_demos)
    train, val = ds.split(0.2, np.random.default_rng(0))
    assert set(train).isdisjoint(val) and len(train) + len(val) == len(ds) and len(val) == 2

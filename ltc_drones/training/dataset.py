"""Lazy access to stored episodes and sampling of training windows for truncated BPTT.

Episodes of one or more folders are laid end to end; a window of ``warmup + T`` consecutive steps
is drawn uniformly from that sequence and may cross an episode boundary, where ``episode_start``
marks the reset of the recurrent state. The first ``warmup`` steps only warm the state up (no
loss on them). Shards are read when first needed and kept in a bounded cache.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..tasks import task_spec
from .storage import DatasetError, check_manifest_matches, completed_episodes, load_episode, read_manifest


@dataclass(frozen=True)
class EpisodeRef:
    folder: Path
    index: int
    path: Path
    steps: int
    team_size: int = 1
    """Shards per episode of its folder (the drones of a multi-agent task): shard ``index`` belongs to team
    episode ``index // team_size``."""

    @property
    def team_key(self) -> tuple[Path, int]:
        return self.folder, self.index // self.team_size


@dataclass
class WindowBatch:
    """A batch of windows: observations ``[B, L, ...]``, labels ``[B, L, 4]``, resets ``[B, L]``, loss mask."""

    obs: dict[str, np.ndarray]
    label: np.ndarray
    episode_start: np.ndarray
    loss_mask: np.ndarray


class DemoDataset:
    """Episodes from demonstration folders (all with the same env, obs and act modes).

    Args:
        folders: one or more folders written by collection or DAgger.
        cache_episodes: how many decoded episodes to keep in memory.
        first_episodes: use only the episodes numbered below this in each folder (default: all); of a
            multi-agent task, the shards of the team episodes numbered below this.
    """

    def __init__(self, folders, cache_episodes: int = 512, first_episodes: int | None = None) -> None:
        folders = [Path(f) for f in ([folders] if isinstance(folders, str | Path) else folders)]
        if not folders:
            raise DatasetError("no demonstration folders given")
        self.manifest = read_manifest(folders[0])
        self.episodes: list[EpisodeRef] = []
        for folder in folders:
            m = read_manifest(folder)
            same = {k: self.manifest.get(k) for k in ("env_id", "obs", "act", "ctrl_hz", "kin_dim", "image_hw")}
            check_manifest_matches(m, same, folder, f"train on folders of one env (unlike {folders[0]})")
            team = int(m.get("num_drones", 1))
            for index, path in completed_episodes(folder).items():
                if first_episodes is not None and index >= first_episodes * team:
                    continue
                self.episodes.append(EpisodeRef(folder, index, path, _episode_steps(path), team))
        if not self.episodes:
            raise DatasetError(f"no episodes in {', '.join(map(str, folders))}; collect some first")
        self._cache: OrderedDict[Path, dict[str, np.ndarray]] = OrderedDict()
        self._cache_size = cache_episodes
        self.obs_keys = [k.removeprefix("obs_") for k in self.episode(0) if k.startswith("obs_")]

    def check_env(self, task: str | None = None, obs: str | None = None, act: str | None = None) -> None:
        """Raise :class:`DatasetError` if the data were collected for another env."""
        wanted = {"env_id": task_spec(task).env_id if task else None, "obs": obs, "act": act}
        wanted = {k: v for k, v in wanted.items() if v is not None}
        check_manifest_matches(self.manifest, wanted, self.episodes[0].folder,
                               "pass demonstrations of this env with --data, or leave --data out to collect them")

    def __len__(self) -> int:
        return len(self.episodes)

    @property
    def total_steps(self) -> int:
        return sum(e.steps for e in self.episodes)

    @property
    def ctrl_dt_s(self) -> float:
        return 1.0 / self.manifest["ctrl_hz"]

    def episode(self, i: int) -> dict[str, np.ndarray]:
        ref = self.episodes[i]
        data = self._cache.get(ref.path)
        if data is None:
            data = load_episode(ref.path)
            self._cache[ref.path] = data
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(ref.path)
        return data

    def split(self, val_fraction: float, rng: np.random.Generator) -> tuple[list[int], list[int]]:
        """Episode indices for training and validation (split by episode, never by step; the shards of one
        team episode, which share a world, stay on the same side)."""
        teams: dict[tuple[Path, int], list[int]] = {}
        for i, ref in enumerate(self.episodes):
            teams.setdefault(ref.team_key, []).append(i)
        members = list(teams.values())
        n = len(members)
        order = rng.permutation(n)
        n_val = min(n - 1, max(1, round(val_fraction * n))) if n > 1 and val_fraction > 0 else 0
        return (sorted(i for t in order[n_val:] for i in members[t]),
                sorted(i for t in order[:n_val] for i in members[t]))

    def sample(self, episode_ids: list[int], batch: int, length: int, warmup: int,
               rng: np.random.Generator) -> WindowBatch:
        """Draw ``batch`` windows of ``warmup + length`` steps from the given episodes."""
        lengths = np.array([self.episodes[i].steps for i in episode_ids])
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        total = int(offsets[-1])
        span = warmup + length
        starts = rng.integers(0, max(1, total - span + 1), size=batch)
        obs = {k: [] for k in self.obs_keys}
        labels, resets = [], []
        for s in starts:
            pieces = {k: [] for k in self.obs_keys}
            lab, rst = [], []
            pos, need = int(s), span
            while need > 0:
                j = int(np.searchsorted(offsets, pos, side="right")) - 1
                local = pos - int(offsets[j])
                ep = self.episode(episode_ids[j])
                take = min(need, lengths[j] - local)
                for k in self.obs_keys:
                    pieces[k].append(ep[f"obs_{k}"][local:local + take])
                lab.append(ep["label"][local:local + take])
                r = np.zeros(take, bool)
                r[0] = local == 0
                rst.append(r)
                need -= take
                pos = (pos + take) % total  # past the last episode, wrap to the first
            for k in self.obs_keys:
                obs[k].append(np.concatenate(pieces[k]))
            labels.append(np.concatenate(lab))
            resets.append(np.concatenate(rst))
        mask = np.zeros((batch, span), np.float32)
        mask[:, warmup:] = 1.0
        return WindowBatch({k: np.stack(v) for k, v in obs.items()}, np.stack(labels), np.stack(resets), mask)


def _episode_steps(path: Path) -> int:
    try:
        with np.load(path) as z:
            return int(z["label"].shape[0])
    except Exception as exc:
        raise DatasetError(f"{path} is corrupt ({type(exc).__name__}: {exc}); delete it and collect again") from exc

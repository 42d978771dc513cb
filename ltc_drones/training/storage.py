"""Episode storage: one compressed ``.npz`` shard per episode plus a JSON manifest per folder.

A folder is written by one collection (expert demonstrations or a DAgger round). Shards and the
manifest are written atomically (temp file + ``os.replace``), so a killed process or a full disk
never leaves a half-written shard behind: the folder always holds only complete episodes, and
collecting again into it resumes where it stopped.

Shard arrays (T = steps of the episode; ``obs_*[t]`` is what the agent saw before ``label[t]``):
``obs_kin`` (T, kin_dim) float32 and/or ``obs_rgb`` (T, H, W, 3) uint8, ``label`` (T, 4) float32 (the
expert's action), ``executed`` (T, 4) float32 (the action actually flown), ``reward`` (T,) float32,
``seed`` (), ``success`` ().

Multi-agent tasks store one shard per agent: shard ``k * num_drones + i`` holds agent ``i``
(``drone_i``) of team episode ``k``, as a demonstration sequence of that agent's own steps (plus
``agent`` () and ``team_success`` ()); the manifest records ``num_drones``. A team episode is complete
when all its shards are on disk (:func:`completed_team_episodes`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_atomic

FORMAT = "ltc_drones.demos"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SHARD_RE = re.compile(r"^episode_(\d{6})\.npz$")
# Keys that must agree between a manifest on disk and a new request for the same folder.
IDENTITY_KEYS = ("env_id", "task", "obs", "act", "scenario", "ctrl_hz", "physics_hz", "image_hw", "kin_dim",
                 "base_seed", "source", "seeding", "num_drones")


class DatasetError(ValueError):
    """A demonstration folder is missing, corrupt, or does not match what was asked for."""


def shard_name(index: int) -> str:
    return f"episode_{index:06d}.npz"


def split_obs(obs) -> dict[str, np.ndarray]:
    """Observation -> named arrays ``kin`` / ``rgb``."""
    if isinstance(obs, dict):
        return {"kin": obs["kin"], "rgb": obs["rgb"]}
    return {"rgb": obs} if obs.dtype == np.uint8 and obs.ndim == 3 else {"kin": obs}


def stack_episode(observations: list, labels: list, executed: list, rewards: list, seed: int,
                  success: bool) -> dict[str, np.ndarray]:
    """One episode's steps -> the arrays of its shard (see the module docstring)."""
    parts = [split_obs(o) for o in observations]
    arrays = {f"obs_{k}": np.stack([p[k] for p in parts]) for k in parts[0]}
    arrays.update(label=np.asarray(labels, np.float32), executed=np.asarray(executed, np.float32),
                  reward=np.asarray(rewards, np.float32), seed=np.int64(seed), success=np.bool_(success))
    return arrays


def write_episode(folder: Path, index: int, arrays: dict[str, np.ndarray]) -> Path:
    """Write one episode shard atomically."""
    path = Path(folder) / shard_name(index)

    def _w(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    return write_atomic(path, _w)


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise DatasetError(f"{folder} holds no {MANIFEST}: not a demonstration folder (collect into it first)")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path} is corrupt ({exc}); delete the folder and collect again") from exc
    if manifest.get("format") != FORMAT:
        raise DatasetError(f"{path} is not an {FORMAT} manifest")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(
            f"{path} has schema version {manifest.get('schema_version')}, this code reads {SCHEMA_VERSION}"
        )
    return manifest


def check_manifest_matches(manifest: dict[str, Any], wanted: dict[str, Any], folder: Path, fix: str) -> None:
    """Raise :class:`DatasetError` naming every key where ``manifest`` differs from ``wanted``, then ``fix``."""
    diffs = [f"{k}: folder has {manifest.get(k)!r}, asked for {wanted[k]!r}"
             for k in IDENTITY_KEYS if k in wanted and manifest.get(k) != wanted[k]]
    if diffs:
        raise DatasetError(f"{folder} does not match the request, it holds another collection "
                           f"({'; '.join(diffs)}); {fix}")


def completed_episodes(folder: Path) -> dict[int, Path]:
    """Episode index -> shard path, for every complete shard in ``folder``."""
    found = {}
    for p in Path(folder).iterdir():
        m = SHARD_RE.match(p.name)
        if m:
            found[int(m.group(1))] = p
    return dict(sorted(found.items()))


def completed_team_episodes(folder: Path, team_size: int) -> dict[int, list[Path]]:
    """Team episode index -> its ``team_size`` shard paths, for every team episode whose shards are all on disk
    (``team_size`` 1: every single-agent episode)."""
    groups: dict[int, dict[int, Path]] = {}
    for index, path in completed_episodes(folder).items():
        groups.setdefault(index // team_size, {})[index % team_size] = path
    return {k: [g[i] for i in range(team_size)] for k, g in groups.items() if len(g) == team_size}


def load_episode(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile / zlib / ValueError on corrupt files
        raise DatasetError(f"{path} is corrupt ({type(exc).__name__}: {exc}); delete it and collect again") from exc

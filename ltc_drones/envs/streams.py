"""Random streams of an episode: one independent generator per source of randomness.

One seed is one world in every observation mode: the layout, the target's motion and the wind
must not depend on whether camera noise was drawn (``rgb``) or not (``kin``), nor on whether a
video was recorded. So each source draws from its own ``np.random.Generator``, spawned (no number
is drawn) from the episode's ``np.random.SeedSequence``:

| stream | draws |
|--------|-------|
| ``layout`` | start pose, target / hold point / markers, then distractors (drawn last: they never move the rest) |
| ``target`` | the target's motion (FollowTarget: speed, heading offset, turn-rate process, height oscillation) |
| ``wind`` | the gust process (initial gust and every control step) |
| ``camera`` | pixel noise of the observed images (``rgb``, ``rgb_kin``) |
| ``diagnostics`` | pixel noise of images drawn for diagnostics and videos that the agent did not see |
| ``scenery`` | placement of the scenery around the flight corridor |

Streams are spawned by position in :data:`RNG_STREAMS`; a new stream must be appended at the end,
so that adding it changes no existing world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RNG_STREAMS = ("layout", "target", "wind", "camera", "diagnostics", "scenery")


@dataclass(frozen=True)
class EpisodeRngs:
    """The named generators of one episode; use ``rngs.layout`` or ``rngs["layout"]``.

    Build with :meth:`spawn` from the episode's seed sequence.
    """

    layout: np.random.Generator
    target: np.random.Generator
    wind: np.random.Generator
    camera: np.random.Generator
    diagnostics: np.random.Generator
    scenery: np.random.Generator

    @classmethod
    def spawn(cls, episode_seed: np.random.SeedSequence | int) -> EpisodeRngs:
        """One child generator per stream of ``episode_seed`` (a seed sequence or an int seed)."""
        seq = episode_seed if isinstance(episode_seed, np.random.SeedSequence) else np.random.SeedSequence(episode_seed)
        children = seq.spawn(len(RNG_STREAMS))
        return cls(**{name: np.random.default_rng(child) for name, child in zip(RNG_STREAMS, children, strict=True)})

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in RNG_STREAMS:
            raise KeyError(f"unknown random stream {name!r}; streams: {', '.join(RNG_STREAMS)}")
        return getattr(self, name)


"""Which env seeds each part of the pipeline uses: disjoint, documented ranges.

One env seed is one world (layout, target motion, wind, camera noise). An agent must never be
selected or tested on a world it was trained on, for any training seed, so every use has its own
range of env seeds, laid out in decimal so a seed can be read by eye::

    use                         env seeds                                      capacity
    test / evaluation           [0, 10**12)                 start + k          any start, k >= 0
    demonstrations              1 * 10**12 + s * 10**6 + k                     k < 10**6 episodes
    DAgger round r              2 * 10**12 + s * 10**6 + r * 10**4 + k         r < 100 rounds, k < 10**4 episodes
    model selection             3 * 10**12 + s * 10**6 + k                     k < 10**6 episodes
    PPO training envs, segment g 4 * 10**12 + s * 10**6 + g * 10**4 (+ env index by the vector env's own
                                spawning)                                      g < 100 run segments

``s`` is the training seed (``TrainConfig.seed``, or the ``base_seed`` of a collection), an int in
``[0, 10**6)``; ``k`` is the episode index. Evaluations, benchmarks and shipped model cards draw
their episodes from :func:`test_seeds`, model selection during DAgger from :func:`selection_seeds`.
Consecutive seeds give independent worlds: every env seed goes through ``numpy.random.SeedSequence``.
"""

from __future__ import annotations

TEST_SEED_START = 20_000
"""First test seed of the shipped model cards (``ltc-drones ship``, the reference scripts): their test episodes
are ``test_seeds(TEST_SEED_START, n)``, disjoint from the evaluation seeds ``0..`` that benchmarks and the
default ``ltc-drones evaluate`` use for model comparison, and from every training and selection seed."""
TRAINING_SEEDS = 10**6
"""Training seeds (and collection base seeds) are ints in ``[0, TRAINING_SEEDS)``."""
KIND_SPAN = 10**12
PER_SEED = 10**6
MAX_ROUNDS = 100
PER_ROUND = 10**4
TEST_END = KIND_SPAN
DEMO_BASE = 1 * KIND_SPAN
DAGGER_BASE = 2 * KIND_SPAN
SELECTION_BASE = 3 * KIND_SPAN
RL_BASE = 4 * KIND_SPAN
"""PPO training envs (``ltc_drones.rl.setup.training_env_seed``): one base seed per run segment."""
SCHEME = "ltc_drones.seeding v1 (test [0, 1e12); demos 1e12 + s*1e6 + k; dagger 2e12 + s*1e6 + r*1e4 + k; " \
         "selection 3e12 + s*1e6 + k)"
"""Recorded in demonstration manifests: folders collected under another scheme are refused."""


def check_training_seed(seed: int, name: str = "seed") -> int:
    """Return ``seed`` if it is a valid training seed, else raise ``ValueError`` saying what is valid."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < TRAINING_SEEDS:
        raise ValueError(f"{name} must be an int in [0, {TRAINING_SEEDS}) (see ltc_drones.seeding), got {seed!r}")
    return seed


def _check_count(n: int, capacity: int, what: str) -> None:
    if n < 0 or n > capacity:
        raise ValueError(f"{what}: {n} episodes requested; the range holds 0..{capacity} (see ltc_drones.seeding)")


def test_seeds(start: int, n: int) -> range:
    """Env seeds of ``n`` test (evaluation) episodes: ``start, start + 1, ..., start + n - 1`` (below ``10**12``)."""
    if start < 0:
        raise ValueError(f"test seeds start at 0 or above, got start={start}")
    _check_count(n, TEST_END - start, "test seeds")
    return range(start, start + n)


test_seeds.__test__ = False  # not a pytest test, despite the name


def demo_seeds(training_seed: int, n: int) -> range:
    """Env seeds of the ``n`` expert demonstrations of a collection with base seed ``training_seed``."""
    check_training_seed(training_seed, "base seed")
    _check_count(n, PER_SEED, "demonstrations")
    first = DEMO_BASE + training_seed * PER_SEED
    return range(first, first + n)


def dagger_seeds(training_seed: int, round_index: int, n: int) -> range:
    """Env seeds of the ``n`` learner episodes of DAgger round ``round_index`` (from 0)."""
    check_training_seed(training_seed)
    if not 0 <= round_index < MAX_ROUNDS:
        raise ValueError(f"DAgger round must be in [0, {MAX_ROUNDS}), got {round_index}")
    _check_count(n, PER_ROUND, "DAgger episodes per round")
    first = DAGGER_BASE + training_seed * PER_SEED + round_index * PER_ROUND
    return range(first, first + n)


def selection_seeds(training_seed: int, n: int) -> range:
    """Env seeds of the ``n`` closed-loop model-selection episodes after each DAgger round."""
    check_training_seed(training_seed)
    _check_count(n, PER_SEED, "model-selection episodes")
    first = SELECTION_BASE + training_seed * PER_SEED
    return range(first, first + n)

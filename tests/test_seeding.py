"""Env seed ranges: demonstrations, DAgger rounds, model selection and tests never share a seed."""

import pytest

from ltc_drones import seeding
from ltc_drones.seeding import TRAINING_SEEDS, dagger_seeds, demo_seeds, selection_seeds, test_seeds


def test_ranges_are_disjoint_for_training_seeds_0_to_999():
    # Every range at its full capacity, for every training seed, plus the whole test range.
    ranges = [("test", test_seeds(0, seeding.TEST_END))]
    for s in range(1000):
        ranges.append((f"demo {s}", demo_seeds(s, seeding.PER_SEED)))
        ranges.append((f"selection {s}", selection_seeds(s, seeding.PER_SEED)))
        ranges += [(f"dagger {s}/{r}", dagger_seeds(s, r, seeding.PER_ROUND)) for r in range(seeding.MAX_ROUNDS)]
    ranges.sort(key=lambda item: item[1].start)
    for (name_a, a), (name_b, b) in zip(ranges, ranges[1:], strict=False):
        assert a.stop <= b.start, f"{name_a} overlaps {name_b}"
    # The old layout (selection 10000 + seed * 1000 + k) met the tests (20000..) from seed 10 on; not now.
    assert not set(selection_seeds(10, 20)) & set(test_seeds(20_000, 100))
    assert ranges[-1][1].stop < 2**63  # fits the int64 seed of a shard


def test_the_layout_reads_in_decimal():
    assert dagger_seeds(3, 2, 16)[15] == 2_000_003_020_015
    assert demo_seeds(7, 5)[4] == 1_000_007_000_004
    assert selection_seeds(0, 2)[1] == 3_000_000_000_001
    assert list(test_seeds(20_000, 3)) == [20_000, 20_001, 20_002]


@pytest.mark.parametrize("call, match", [
    (lambda: demo_seeds(TRAINING_SEEDS, 1), "must be an int in"),
    (lambda: demo_seeds(-1, 1), "must be an int in"),
    (lambda: selection_seeds(0, seeding.PER_SEED + 1), "model-selection"),
    (lambda: dagger_seeds(0, seeding.MAX_ROUNDS, 1), "round"),
    (lambda: dagger_seeds(0, 0, seeding.PER_ROUND + 1), "DAgger episodes"),
    (lambda: test_seeds(-5, 1), "start"),
])
def test_out_of_range_requests_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()

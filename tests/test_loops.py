"""Each loop's composition is exact: counts, provenance, fixed vs fresh real draws, no held-out image."""

import pytest
import torch

from lab.loops import LOOPS, REAL, Samples, compose, split_counts

TRAIN_SIZE, NUM_SAMPLES = 100, 120


def identity(images):
    return (images[:, 0, 0, 0].long() + 256 * images[:, 1, 0, 0].long()).tolist()


def fake_history(generations, shape):
    # Samples of generation k are filled with the value k + 1 (never an index-encoded real image pair).
    return [Samples(k, torch.full((NUM_SAMPLES, *shape), 250 - k, dtype=torch.uint8), torch.arange(NUM_SAMPLES) % 10) for k in range(generations)]


def chain(loop, real, generations=4, fraction=0.3, seed=0):
    history = fake_history(generations, real.train_images.shape[1:])
    return [compose(loop, g, real.train_images, real.train_labels, history[:g], TRAIN_SIZE, fraction, seed) for g in range(generations)]


@pytest.mark.parametrize("loop", LOOPS)
def test_generation_zero_is_real_only_and_the_same_in_every_loop(loop, real):
    first = chain(loop, real)[0]
    assert first.provenance() == {"real": TRAIN_SIZE}
    assert first.real_index.tolist() == chain("mixed", real)[0].real_index.tolist()
    assert len(set(first.real_index.tolist())) == TRAIN_SIZE  # drawn without replacement


@pytest.mark.parametrize("loop", LOOPS)
def test_no_heldout_image_in_any_training_set(loop, real):
    heldout = set(identity(real.heldout_images))
    pool = set(identity(real.train_images))
    assert not heldout & pool and len(heldout | pool) == 1000
    for ts in chain(loop, real):
        real_part = ts.images[ts.source == REAL]
        assert not set(identity(real_part)) & heldout
        # Images and labels stay paired with the pool entry they came from.
        assert identity(real_part) == identity(real.train_images[ts.real_index[ts.source == REAL]])
        assert torch.equal(ts.labels[ts.source == REAL], real.train_labels[ts.real_index[ts.source == REAL]])


def test_fully_synthetic_uses_only_the_previous_generation(real):
    sets = chain("fully_synthetic", real, fraction=0.7)  # the knob is 0 by definition here
    for g, ts in enumerate(sets[1:], start=1):
        assert ts.provenance() == {"real": 0, f"gen_{g - 1}": TRAIN_SIZE}
        assert bool((ts.images == 250 - (g - 1)).all())


def test_real_only_retrains_on_generation_0s_images(real):
    sets = chain("real_only", real, fraction=0.3)  # the knob is 1 by definition here
    for ts in sets[1:]:
        assert ts.provenance() == {"real": TRAIN_SIZE}
        assert ts.real_index.tolist() == sets[0].real_index.tolist()
        assert torch.equal(ts.images, sets[0].images) and torch.equal(ts.labels, sets[0].labels)


def test_mixed_keeps_the_same_real_images(real):
    sets = chain("mixed", real, fraction=0.3)
    fixed = sets[1].real_index.tolist()[:30]
    assert fixed == sets[0].real_index.tolist()[:30]  # a subset of generation 0's draw
    for g, ts in enumerate(sets[1:], start=1):
        assert ts.provenance() == {"real": 30, f"gen_{g - 1}": 70}
        assert ts.real_index[ts.source == REAL].tolist() == fixed


def test_fresh_draws_new_real_images_every_generation(real):
    sets = chain("fresh", real, generations=5, fraction=0.3)
    draws = [ts.real_index[ts.source == REAL].tolist() for ts in sets[1:]]
    for g, ts in enumerate(sets[1:], start=1):
        assert ts.provenance() == {"real": 30, f"gen_{g - 1}": 70}
    assert all(len(set(d)) == 30 for d in draws)
    assert len({tuple(d) for d in draws}) == len(draws)  # a different draw each generation
    # …but the same draws for the same seed (a resumed run sees the same data), other draws for another.
    assert draws == [ts.real_index[ts.source == REAL].tolist() for ts in chain("fresh", real, 5, 0.3)[1:]]
    assert draws != [ts.real_index[ts.source == REAL].tolist() for ts in chain("fresh", real, 5, 0.3, seed=1)[1:]]


def test_accumulate_grows_with_every_generation(real):
    sets = chain("accumulate", real, generations=4, fraction=0.3)
    for g, ts in enumerate(sets[1:], start=1):
        assert ts.provenance() == {"real": 30, **{f"gen_{k}": 70 for k in range(g)}}
        assert len(ts) == 30 + 70 * g
    # Generation k's contribution is the same images at every later generation.
    assert torch.equal(sets[2].images[sets[2].source == 0], sets[3].images[sets[3].source == 0])


def test_accumulate_subsample_keeps_the_size_and_mixes_all_generations(real):
    sets = chain("accumulate_subsample", real, generations=4, fraction=0.3)
    last = sets[-1].provenance()
    assert len(sets[-1]) == TRAIN_SIZE and sum(last.values()) == TRAIN_SIZE
    assert set(last) <= {"real", "gen_0", "gen_1", "gen_2"} and len(last) >= 3


@pytest.mark.parametrize(("fraction", "expected"), [(0.0, (0, 100)), (0.25, (25, 75)), (1.0, (100, 0)), (0.333, (33, 67))])
def test_real_fraction_maps_to_counts(fraction, expected):
    assert split_counts("mixed", 100, fraction) == expected
    assert split_counts("fully_synthetic", 100, fraction) == (0, 100)
    assert split_counts("real_only", 100, fraction) == (100, 0)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_loops_fixed_share_is_said_once_by_its_class(loop, monkeypatch):
    """The YAML reads a fixed share from the class: change the class, and the composed setting follows."""
    from lab.loops import REGISTRY
    from tests.conftest import compose_cfg

    fixed = REGISTRY[loop].real_fraction
    cfg = compose_cfg(f"loop={loop}")
    assert cfg.loop.real_fraction == (0.5 if fixed is None else fixed)  # 0.5: the schema's default for the others
    if fixed is not None:
        monkeypatch.setattr(type(REGISTRY[loop]), "real_fraction", 0.25)
        assert compose_cfg(f"loop={loop}").loop.real_fraction == 0.25

"""Pixel statistics against answers the maths gives (lab/metrics/pixels.py)."""

import math

import torch

from lab.metrics.pixels import intensity_histogram, pixel_statistics


def images(seed: int, high: int = 200) -> torch.Tensor:
    return torch.randint(0, high, (50, 1, 8, 8), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_a_set_against_itself_scores_zero():
    x = images(0)
    assert pixel_statistics(x, intensity_histogram(x))["pixel_w1"] == 0.0


def test_brightening_by_k_levels_scores_k():
    """No pixel reaches 255, so adding k moves every pixel by exactly k: W1 is k."""
    x = images(1)
    for k in (1, 8, 40):
        assert math.isclose(pixel_statistics(x + k, intensity_histogram(x))["pixel_w1"], k, abs_tol=1e-9)


def test_half_white_against_black_is_half_the_scale():
    black = torch.zeros(4, 1, 2, 2, dtype=torch.uint8)
    half = black.clone()
    half[:2] = 255
    assert math.isclose(pixel_statistics(half, intensity_histogram(black))["pixel_w1"], 127.5, abs_tol=1e-9)


def test_dark_level_is_the_background_brightness():
    x = torch.full((3, 1, 4, 4), 5, dtype=torch.uint8)
    x[:, :, 1:3, 1:3] = 200  # a bright stroke does not count
    assert pixel_statistics(x, intensity_histogram(x))["dark_level"] == 5.0
    assert math.isnan(pixel_statistics(torch.full((1, 1, 2, 2), 64, dtype=torch.uint8), intensity_histogram(x))["dark_level"])

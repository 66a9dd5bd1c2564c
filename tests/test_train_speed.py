"""The fast training paths (train.speed) learn what the plain fp32 eager path learns, step for step."""

import pytest
import torch

from lab import diffusion
from lab.seeding import generator
from lab.train import train_generation, use_bf16, use_compile
from tests.test_diffusion import tiny_set

PLAIN = ("train.speed.fused=false", "train.speed.bf16=false", "train.speed.compile=false")


def losses(make_cfg, *speed):
    cfg = make_cfg("model=tiny", "train.images=192", "train.batch_size=32", "train.warmup_images=32", "progress=false", *PLAIN, *speed)
    torch.manual_seed(0)
    unet = diffusion.build_unet(cfg.model, 8, 1, 10)
    result = train_generation(
        unet, diffusion.build_train_scheduler(cfg.train), tiny_set(), cfg.train, torch.device("cpu"), generator(0, 0, "train"), progress=False
    )
    return torch.tensor(result.step_losses), result


def test_fused_optimizer_and_ema_match_the_plain_path(make_cfg):
    plain, plain_run = losses(make_cfg)
    fused, fused_run = losses(make_cfg, "train.speed.fused=true")
    assert len(plain) == 6
    torch.testing.assert_close(fused, plain, rtol=1e-4, atol=1e-5)
    for a, b in zip(fused_run.ema_model.parameters(), plain_run.ema_model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


def test_bf16_autocast_stays_close_to_fp32(make_cfg):
    plain, _ = losses(make_cfg)
    bf16, _ = losses(make_cfg, "train.speed.bf16=true")
    assert not torch.equal(bf16, plain)  # autocast really ran in bf16 …
    torch.testing.assert_close(bf16, plain, rtol=0.05, atol=0.01)  # … and learnt the same thing


@pytest.mark.parametrize("setting,expected", [(True, True), (False, False)])
def test_explicit_speed_settings_win_over_auto(setting, expected):
    cpu = torch.device("cpu")
    assert use_bf16(setting, cpu) is expected and use_compile(setting, cpu) is expected


@pytest.mark.parametrize("amx,avx512_bf16,expected", [(True, False, True), (False, True, True), (False, False, False)])
def test_auto_uses_bf16_only_on_a_cpu_with_bf16_arithmetic_and_never_compiles(monkeypatch, amx, avx512_bf16, expected):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    cpu = torch.device("cpu")
    assert use_bf16("auto", cpu) is expected
    assert use_compile("auto", cpu) is False

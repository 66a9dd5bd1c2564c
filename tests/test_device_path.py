"""The GPU path's pieces that a CPU can check: modules kept across a chain, compiled sampling at one batch shape,
the device draws' seeding, and the fast training path against the plain one."""

import pytest
import torch
from torch._dynamo.testing import CompileCounter

from lab import diffusion, generators
from lab.data import load_real_data
from lab.draws import Draws, placed
from lab.samplers import build_sampler
from lab.seeding import derive_seed, generator
from lab.train import train_generation
from tests.conftest import compose_cfg
from tests.test_diffusion import tiny_set
from tests.test_train_speed import losses


def test_a_chain_keeps_its_modules_and_starts_every_generation_from_a_fresh_initialisation():
    cfg = compose_cfg("model=tiny", "data=digits", "train.images=96", "train.batch_size=32", "train.warmup_images=32", "progress=false", "seed=3")
    model = generators.build(cfg, load_real_data(cfg.data), torch.device("cpu"), progress=False)
    model.fit(tiny_set(), 0)
    kept = model.model, model.ema_model
    model.fit(tiny_set(), 1)
    # The same objects (what torch.compile and CUDA graphs are bound to) …
    assert model.model is kept[0] and model.ema_model is kept[1]
    # … holding exactly what generation 1 trained from a newly built module gives: nothing of generation 0 is left.
    torch.manual_seed(derive_seed(3, 1, "init"))
    unet = diffusion.build_unet(cfg.model, 8, 1, 10)
    fresh = train_generation(unet, model.train_scheduler, tiny_set(), cfg.train, torch.device("cpu"), generator(3, 1, "train"), progress=False)
    for ours, theirs in ((kept[0], fresh.model), (kept[1], fresh.ema_model)):
        assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters()))


@pytest.mark.slow  # torch.compile
def test_compiled_sampling_runs_one_batch_shape_and_returns_what_eager_sampling_returns(make_cfg):
    cfg = make_cfg("model=tiny")
    torch.manual_seed(0)
    unet = diffusion.build_unet(cfg.model, 8, 1, 10)
    sampler = build_sampler(cfg.sampler, diffusion.build_train_scheduler(cfg.train))
    labels = torch.arange(12) % 10  # batches of 5, 5 and 2
    counter = CompileCounter()
    compiled = torch.compile(unet, backend=counter)
    batch_rows = []

    def forward(x, t, class_labels=None):
        batch_rows.append(len(x))
        return compiled(x, t, class_labels=class_labels)

    def draw(**kwargs):
        return diffusion.sample(unet, sampler, labels, 3, 0.0, 5, generator(0, 0, "s"), torch.device("cpu"), progress=False, **kwargs)

    padded, eager = draw(forward=forward), draw()
    assert padded.shape == eager.shape == (12, 1, 8, 8)
    assert set(batch_rows) == {5} and len(batch_rows) == 3 * 3  # three batches of three steps, all five rows
    assert counter.frame_count == 1  # one graph: the short last batch did not make torch.compile trace again
    assert torch.equal(padded[:10], eager[:10])  # the full batches draw the same noise either way


def test_draws_on_a_cpu_are_the_host_generators_own():
    host = torch.Generator().manual_seed(0)
    assert placed(host, torch.device("cpu"), on_device=True) is host
    a = Draws(torch.Generator().manual_seed(5), torch.device("cpu"), on_device=True)
    b = Draws(torch.Generator().manual_seed(5), torch.device("cpu"), on_device=False)
    assert torch.equal(a.randn((4, 3)), b.randn((4, 3)))
    assert torch.equal(a.timesteps("logit_normal", 1000, 64), b.timesteps("logit_normal", 1000, 64))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_device_draws_are_seeded_from_the_host_generator():
    cuda = torch.device("cuda")
    a, b, c = (Draws(torch.Generator().manual_seed(s), cuda, on_device=True) for s in (1, 1, 2))
    x = a.randn((8,))
    assert a.origin.type == "cuda" and x.device.type == "cuda"
    assert torch.equal(x, b.randn((8,))) and not torch.equal(x, c.randn((8,)))  # the seed decides, as on the host


@pytest.mark.slow
def test_compiled_training_learns_what_the_plain_path_learns(make_cfg):
    plain, _ = losses(make_cfg)
    fast, _ = losses(make_cfg, "train.speed.fused=true", "train.speed.compile=true", "train.speed.compile_mode=default", "train.speed.device_draws=true")
    assert not torch.equal(fast, plain)  # the compiled kernels really ran …
    torch.testing.assert_close(fast, plain, rtol=1e-3, atol=1e-4)  # … and learnt the same thing

"""The generation loop: compose → fit → sample → curate → evaluate → track → save, once per generation.

Everything a run writes goes through its run directory (lab.rundir.RunDir; the files, one line each, in lab.layout)
and W&B's order of logging through lab.tracking.Tracking.
"""

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from omegaconf import DictConfig

from lab import faults, generators, loops, schedule
from lab.config import check_against_data, check_settings, resolve_device
from lab.curate import Curated, Mitigation, build_curator
from lab.data import RealData, load_real_data
from lab.generators import Fit
from lab.merge import Merge, build_merge
from lab.metrics import METRICS_VERSION, Evaluator
from lab.metrics.base import Evaluation
from lab.metrics.points import PointEvaluator
from lab.rundir import RunDir
from lab.seeding import derive_seed
from lab.tracking import Tracking, condition_keys, scalar_key
from lab.wandb_runs import RunLabels

HELD_BACK = -1  # the draw index of a generation's held-back samples (curators' redraws count up from 1)

log = logging.getLogger("lab")


def prepare(cfg: DictConfig, load=load_real_data) -> RealData:
    """Every check that can fail on bad input, and the data those checks need; writes nothing."""
    check_settings(cfg)
    real = load(cfg.data)
    check_against_data(cfg, real)
    return real


def run_experiment(cfg: DictConfig, run_dir, overrides=(), group: str | None = None, name: str | None = None) -> list[dict]:
    """Run one chain of generations into `run_dir`, or continue it there; returns the metrics rows.

    A run directory that already holds this run (same settings) is resumed from its last completed
    generation; a finished one is left as it is. One with other settings is never touched.
    """
    real = prepare(cfg)
    run = RunDir(run_dir)
    with run.writing():
        state = resume(cfg, run)
        if state is not None and state["completed_generations"] >= int(cfg.loop.generations):
            log.info("run_dir=%s is complete (%d generations): nothing to do", run, state["completed_generations"])
            return run.discard_unfinished(state["completed_generations"])
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        device = resolve_device(cfg.device)
        # Built before anything is written: it can still stop on bad input (e.g. Inception weights missing).
        # The classifier it trains goes to the shared cache, not the run directory.
        evaluator = _build_evaluator(cfg, real, device)
        if state is None:
            state = run.start(cfg, overrides)
        with run.logging_to():
            return run_chain(cfg, real, evaluator, device, run, state, RunLabels(name or run.name, group, cfg.loop.name, state["wandb_run_id"]))


def resume(cfg: DictConfig, run: RunDir) -> dict | None:
    """Where the chain in `run` stands: its state.json (None: a new run). A run of other settings or code is refused,
    a damaged generation is redone, a finished chain asked for more generations is extended, and the metrics it has
    logged since it started stay its metrics (`cfg.metrics.run` is set to them)."""
    if run.config.exists():
        # Ours: resumable with the same settings. Without state.json it was killed before generation 0.
        run.check_resumable(cfg)
        kept = run.recorded_metrics()
        if list(cfg.metrics.run) != kept:
            log.info("run_dir=%s has logged metrics.run=[%s] since it started: its generations keep them", run, ",".join(kept))
            cfg.metrics.run = kept
    state = run.read_state()
    if state is None:
        return None
    damaged = run.first_damaged(state)
    if damaged is None and state["completed_generations"] >= int(cfg.loop.generations):
        return state
    state = run.trust(cfg, state, damaged)  # refuses other code before anything is rewritten
    run.record_length(int(cfg.loop.generations))
    return state


def check_resume(cfg: DictConfig, run: RunDir) -> None:
    """What `resume` would refuse (other settings; other code where the chain has generations left), checked
    without writing or hashing the files: a sweep checks every job's directory before it launches one. A finished
    chain whose files were damaged since is checked only when its job reaches it."""
    if run.config.exists():
        run.check_resumable(cfg)
    state = run.read_state()
    if state is not None and state["completed_generations"] < int(cfg.loop.generations):
        run.check_code(cfg, state, state["completed_generations"])


def run_chain(cfg: DictConfig, real: RealData, evaluator: Evaluation, device, run: RunDir, state: dict, labels: RunLabels) -> list[dict]:
    """The chain, from the first generation `state` has not committed to the last: each generation composes, fits,
    samples, curates, evaluates and commits (`Chain.generation`), then W&B logs it."""
    # A reused worker (joblib launcher) must not carry global random state from an earlier job.
    torch.manual_seed(derive_seed(cfg.seed, -1, "global"))
    loop, done = cfg.loop, int(state["completed_generations"])
    rows = run.discard_unfinished(done)
    _announce(cfg, real, labels.name, device, done)
    run.write_reference(
        {"classifier": evaluator.classifier_info, "real_baseline": evaluator.baseline, "num_samples": evaluator.num_samples, "metrics_version": METRICS_VERSION}
    )
    model = generators.build(cfg, real, device, bool(cfg.progress))
    if done and cfg.train.warm_start:
        model.load(run.checkpoint(done - 1))
    chain = Chain(cfg, real, evaluator, run, model, build_curator(cfg.curate, real, evaluator, int(cfg.seed)), build_merge(cfg))
    chain.history = [run.load_samples(k) for k in range(done)]
    condition = condition_keys(loop.name, loops.effective_real_fraction(loop.name, loop.real_fraction), run.started_overrides())
    # W&B gets a generation only once it is committed; a resumed run first logs what its W&B runs lack.
    with Tracking(chain, labels, condition, state, rows) as tracking:
        for gen in range(done, int(loop.generations)):
            with faults.in_generation(gen):
                committed = chain.generation(gen, state)
            state = committed.state
            rows.append(committed.row)
            tracking.committed(gen, state, committed.row, committed.picture, committed.timing)
    return rows


def _announce(cfg: DictConfig, real: RealData, name: str, device, done: int) -> None:
    loop = cfg.loop
    fixed = loops.REGISTRY[loop.name].real_fraction
    if fixed is not None and loop.real_fraction != fixed:
        log.warning("loop=%s has real_fraction %s by definition: loop.real_fraction=%s is ignored", loop.name, fixed, loop.real_fraction)
    resuming = f", resuming after generation {done - 1} (the chain runs to generation {int(loop.generations) - 1})" if done else ""
    log.info(
        "run %s: data=%s (%d pool / %d held out), loop=%s, device=%s%s",
        name,
        real.name,
        len(real.train_labels),
        len(real.heldout_labels),
        loop.name,
        device,
        resuming,
    )


@dataclass
class Chain:
    """What a chain's generations share: the settings, the real data, the metrics, the run directory, the generator,
    the curator, the merge, and what every earlier generation fed to the loop (`history[k]`, its curated samples)."""

    cfg: DictConfig
    real: RealData
    evaluator: Evaluation
    run: RunDir
    model: object
    curator: Mitigation
    merge: Merge | None = None
    history: list = field(default_factory=list)

    def generation(self, gen: int, state: dict) -> "Committed":
        """Compose, fit, sample, curate (`produce`), evaluate, write; state.json moves past it last (the commit).
        Returns what W&B logs of it, and the new state."""
        loop, history = self.cfg.loop, self.history
        regime = schedule.regimes(loop)[gen]
        switch = f": loop={regime.loop}, real_fraction={regime.real_fraction:g}" if loop.schedule and gen else ""
        log.info("generation %d/%d%s", gen, int(loop.generations) - 1, switch)
        made = produce(self.cfg, self.real, history, self.model, gen, self.curator, self.merge)
        data, fit, samples = made.data, made.fit, made.samples
        # The memorisation null: fresh images of the sources this training set drew from, in its proportions — held-out
        # real images for its real share, generation gen−1's held-back samples for the rest.
        null = loops.Null(history[gen - 1].heldback if gen else None, data.provenance()["real"] / len(data))
        history.append(made.curated.samples)
        self.run.save_samples(made.curated.samples, data.provenance())
        metrics = self.evaluator(samples.images, samples.labels, data.images, null)
        if fit.parameters is not None:
            metrics |= self.evaluator.of_fit(fit.parameters)
        scalars = _scalars(metrics, data, fit, self.real.num_classes) | made.curated.scalars(int(loop.num_samples))
        if loop.schedule:  # the provenance shows where a schedule switches (the metric keys of a chain without one stay as they were)
            scalars |= {"regime": regime.loop, "regime/real_fraction": regime.real_fraction}
        histogram = scalars.pop("metrics/class_histogram", None)  # None: metrics.run leaves the classes out
        timing = fit.timing | {"timing/sample_seconds": made.sample_seconds}
        picture = self.evaluator.picture(samples.images, samples.labels, self.real.num_classes)
        row = self.run.write_row(gen, scalars, histogram, picture, timing)
        faults.point("metrics_write")
        log.info("generation %d: %s", gen, self.evaluator.headline(scalars))
        self.run.save_checkpoint(gen, self.model)
        state = self.run.commit(state, gen, keep=loop.keep)
        faults.point("tracking")
        return Committed(state, row, picture, timing)


@dataclass
class Committed:
    state: dict  # state.json after the commit
    row: dict  # the generation's metrics.jsonl row
    picture: np.ndarray  # its sample grid
    timing: dict  # its timing.jsonl row


@dataclass
class Produced:
    data: loops.TrainingSet  # what the generation trained on
    fit: Fit
    samples: loops.Samples  # the generator's own first draw: what the metrics score
    curated: Curated  # what later generations' training sets take (curate=none: the same samples)
    sample_seconds: float  # drawing the samples, redraws of the curation included


def produce(cfg, real: RealData, history: list[loops.Samples], model, gen: int, curator: Mitigation | None = None, merge: Merge | None = None) -> Produced:
    """One generation as the papers' algorithm box has it: compose the training set, fit, (merge,) sample, curate.

    Nothing here touches the disk or the metrics: the closed-form tests run chains of this in memory.
    `history[k]` holds what generation k fed to the loop (its curated samples)."""
    loop = cfg.loop
    plan = schedule.regimes(loop, at_least=gen + 1)  # the closed-form tests run chains past loop.generations
    regime, taken = plan[gen], schedule.synthetic_taken(loop, plan, gen)
    data = loops.compose(regime.loop, gen, real.train_images, real.train_labels, history, int(loop.train_size), regime.real_fraction, int(cfg.seed), taken)
    fit = model.fit(data, gen)
    if merge is not None:  # edits what samples (merge=neon); its scalars and time go into `fit`
        merge(model, gen, fit)
    start = time.perf_counter()
    n = int(loop.num_samples)
    samples = model.sample(n, gen)
    curated = curator(samples, model, n) if curator is not None else Curated(samples, 0, 0, 1.0)
    if int(loop.heldback_samples):  # the last generation's too: a chain can be extended later
        # A stream of its own (draw HELD_BACK), so the samples above are the same with or without it.
        curated.samples.heldback = model.sample(int(loop.heldback_samples), gen, draw=HELD_BACK).images
    return Produced(data, fit, samples, curated, time.perf_counter() - start)


def _build_evaluator(cfg, real: RealData, device) -> Evaluation:
    if generators.family_of(cfg.model).on_points:  # toy or image: the generator family says it (lab.config checks the data agrees)
        return PointEvaluator(real, cfg.metrics, cfg.data)
    return Evaluator(real, cfg, device, bool(cfg.progress))


def _scalars(metrics: dict, data: loops.TrainingSet, fit: Fit, num_classes: int) -> dict:
    provenance = data.provenance()
    out = {scalar_key(k): v for k, v in metrics.items()}
    out |= fit.scalars
    out |= {
        "data/train_size": len(data),
        "data/real_fraction": provenance["real"] / len(data),
    }
    out |= {f"provenance/{k}": v for k, v in provenance.items()}
    if len(data) and bool((data.labels >= 0).all()):  # the label chain's state: per-class counts of the training set
        counts = torch.bincount(data.labels, minlength=num_classes)
        out |= {f"data/label_count_{c}": int(n) for c, n in enumerate(counts)}
    return out

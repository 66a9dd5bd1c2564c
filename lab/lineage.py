"""A chain's lineage as W&B artifacts, so that W&B's lineage graph shows what a self-consuming chain is:

    real pool → compose 0 → training set 0 → fit 0 → model 0 → sample 0 → samples 0 → compose 1 → training set 1 → …

W&B draws lineage through runs (a run uses some artifacts and logs others), so each generation adds three small runs
to the chain's group, beside its metrics run: `compose` uses the real pool and the samples its training set took,
and logs the training set; `fit` uses the training set (and the previous model when warm-started) and logs the
model; `sample` uses the model and logs the samples that later training sets take. Artifacts: `real-<data>` (one
version per pool, shared by every chain on it), and per chain `trainset-<id>`, `model-<id>` and `samples-<id>`,
one version per generation, aliased `gen-<t>` (<id> is the chain's W&B run id).

Offline, W&B refuses `use_artifact`; a run records a use by logging the same files as an input (W&B's use of a
draft artifact: the same files give the same digest, so the upload links the version an earlier run logged).
`wandb sync -n 1 <run_dir>/wandb/offline-run-*` uploads them one at a time, in the order they were made: the
directory names sort by time, then by run id, and the ids sort a generation's runs in order.

Each generation is logged once. lineage.jsonl in the run directory records the generations logged, with their
sample file's checksum; a resume logs the committed generations it lacks (a generation redone after a damaged file
has a new checksum and gets new versions), and an interrupted attempt's offline runs move to wandb/superseded/.
"""

import hashlib
import json
import re
from pathlib import Path

from lab import layout
from lab.layout import RunPaths
from lab.wandb_runs import RunLabels, start_run

STEPS = ("compose", "fit", "sample")  # the job types of a generation's lineage runs, in the order they run


def offline_runs(run_dir: RunPaths, run_id: str) -> list[Path]:
    """The offline W&B directories of one run id under run_dir/wandb/."""
    return [p for p in run_dir.wandb_runs(run_id) if p.name.startswith("offline-run-")]


def set_aside(run_dir: RunPaths, run_id: str, keep: Path | None = None) -> None:
    """Move run_id's offline directories (but `keep`) to wandb/superseded/: kept, and not uploaded by
    `wandb sync wandb/offline-run-*`, so that no generation reaches W&B twice."""
    aside = run_dir.superseded
    for old in offline_runs(run_dir, run_id):
        if keep is not None and old.resolve() == keep.resolve():
            continue
        aside.mkdir(exist_ok=True)
        target, n = aside / old.name, 0
        while target.exists():  # two attempts started within the same second
            n += 1
            target = aside / f"{old.name}.{n}"
        old.rename(target)


class Lineage:
    """Logs the lineage runs of committed generations (`log`), and knows which ones a resume still lacks (`pending`)."""

    def __init__(self, cfg, mode: str, run_dir: RunPaths, chain: RunLabels, real):
        self.tracking, self.mode, self.run_dir = cfg.tracking, mode, run_dir
        self.chain_id, self.name, self.group = chain.id, chain.name, chain.group
        self.warm_start = bool(cfg.train.warm_start)
        # loop.keep=last removes each checkpoint after the next commit: its model artifacts carry the checkpoint's
        # identity but not its weights, so that a later run's use of it is made of the same files.
        self.with_weights = cfg.loop.keep != "last"
        self.pool_name = "real-" + re.sub(r"[^\w.-]", "-", real.name)
        self.pool = {
            "data": real.name,
            "pool_size": len(real.train_labels),
            "heldout_size": len(real.heldout_labels),
            "shape": list(real.train_images.shape[1:]),
            "sha256": _tensor_digest(real.train_images, real.train_labels),
        }
        self.record = self.run_dir.lineage

    def pending(self, state: dict) -> list[int]:
        """Committed generations whose lineage is not logged (or was logged for samples since redone)."""
        logged = set()
        if self.record.exists():
            logged = {(r["generation"], r["samples_sha256"]) for r in map(json.loads, self.record.read_text().splitlines()) if r}
        sums = state.get("checksums", {})
        return [g for g in range(int(state["completed_generations"])) if (g, sums.get(layout.samples(g))) not in logged]

    def log(self, gen: int, state: dict) -> None:
        """The three runs of committed generation `gen`, then its line in lineage.jsonl."""
        import torch

        provenance = torch.load(self.run_dir.samples(gen), weights_only=True)["provenance"]
        sources = sorted(int(k.removeprefix("gen_")) for k in provenance if k != "real")
        trainset = {"chain": self.chain_id, "generation": gen, "composition": provenance, "real_pool": self.pool["sha256"]}
        used = ([self._pool_artifact()] if provenance.get("real") else []) + [self._samples(k) for k in sources]
        self._step(gen, "compose", used, self._artifact("trainset", trainset))
        used = [self._artifact("trainset", trainset)] + ([self._model(gen - 1, state)] if self.warm_start and gen else [])
        self._step(gen, "fit", used, self._model(gen, state))
        self._step(gen, "sample", [self._model(gen, state)], self._samples(gen))
        with self.record.open("a") as f:
            f.write(json.dumps({"generation": gen, "samples_sha256": state["checksums"].get(layout.samples(gen))}) + "\n")

    def _step(self, gen: int, step: str, inputs: list, output) -> None:
        import wandb

        run_id = f"{self.chain_id}-g{gen:03d}-{STEPS.index(step) + 1}{step}"
        if self.mode == "offline":
            set_aside(self.run_dir, run_id)  # an attempt that died half-way through this generation's lineage
        run = start_run(
            self.tracking,
            self.run_dir,
            self.mode,
            RunLabels(f"{self.name} · {step} {gen}", self.group, step, run_id),
            {"chain": self.chain_id, "generation": gen},
            reinit="create_new",  # the chain's metrics run stays open beside it
            settings=wandb.Settings(silent=True),  # three runs a generation: W&B's banners would bury the lab's log
        )
        try:
            for artifact in inputs:
                if self.mode == "offline":  # the draft-artifact use that run.use_artifact does online, recorded for `wandb sync`
                    run._log_artifact(artifact, is_user_created=True, use_after_commit=True)
                else:
                    run.use_artifact(artifact)
            run.log_artifact(output, aliases=[f"gen-{gen}"])
        except BaseException:
            run.finish(exit_code=1)
            raise
        run.finish()

    def _artifact(self, kind: str, identity: dict, files: list[tuple[Path, str]] = ()):
        """A version of `<kind>-<chain id>`: a JSON file naming what it is (so that its digest is its own), plus files."""
        import wandb

        artifact = wandb.Artifact(f"{kind}-{self.chain_id}", type={"trainset": "dataset"}.get(kind, kind), metadata=identity)
        with artifact.new_file(f"{kind}.json") as f:
            f.write(json.dumps(identity, sort_keys=True))
        for path, name in files:
            # immutable: W&B uploads the run directory's own file (written once, at the commit) instead of staging a copy
            (artifact.add_dir if path.is_dir() else artifact.add_file)(str(path), name=name, policy="immutable")
        return artifact

    def _pool_artifact(self):
        import wandb

        artifact = wandb.Artifact(self.pool_name, type="dataset", metadata=self.pool)
        with artifact.new_file("pool.json") as f:
            f.write(json.dumps(self.pool, sort_keys=True))
        return artifact

    def _samples(self, gen: int):
        files = [(self.run_dir.samples(gen), "samples.pt"), (self.run_dir.grid(gen), "grid.png")]
        return self._artifact("samples", {"chain": self.chain_id, "generation": gen}, files)

    def _model(self, gen: int, state: dict):
        checkpoint = self.run_dir.checkpoint(gen)
        identity = {"chain": self.chain_id, "generation": gen, "weights": self.with_weights}
        if not self.with_weights:
            return self._artifact("model", identity)
        # With every checkpoint kept, state.json keeps each one's checksum: the same identity at its log and its uses.
        identity["checkpoint_sha256"] = state["checksums"][layout.checkpoint(gen)]
        return self._artifact("model", identity, [(checkpoint, "checkpoint")])


def _tensor_digest(*tensors) -> str:
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(t.contiguous().numpy().tobytes())
    return digest.hexdigest()

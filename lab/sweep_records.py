"""Hydra writes a sweep's record, `multirun.yaml` (the composed config with the command's overrides), into the
sweep directory at every launch: resuming or extending a sweep in the same directory would overwrite the record of
how it began. This callback (conf/config.yaml, `hydra.callbacks`) moves an earlier record aside first, numbered in
launch order (`multirun.1.yaml` the first launch, `multirun.2.yaml` the next, …); `multirun.yaml` is the latest."""

import os
import re
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

RECORD = "multirun.yaml"
_KEPT = re.compile(r"multirun\.(\d+)\.yaml")


class KeepEarlierSweepRecords(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        keep_earlier_record(Path(config.hydra.sweep.dir))


def keep_earlier_record(sweep_dir: Path) -> Path | None:
    """Move `sweep_dir/multirun.yaml`, if there is one, to `multirun.N.yaml`, N one past the highest kept (so the
    numbers keep the launch order even where a record was removed); return where it went."""
    record = sweep_dir / RECORD
    if not record.exists():
        return None
    n = 1 + max((int(m[1]) for p in sweep_dir.iterdir() if (m := _KEPT.fullmatch(p.name))), default=0)
    while True:
        kept = sweep_dir / f"multirun.{n}.yaml"
        try:  # the name is claimed first, so an earlier record is never replaced
            os.close(os.open(kept, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            n += 1
            continue
        os.replace(record, kept)
        return kept

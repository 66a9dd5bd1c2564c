"""Loading a sweep's run directories into one tidy table (lab.report's loader, which notebooks import through it).

One row per run × generation × metric, with the run's loop, real fraction, seed, the settings its command line
named (and any a caller asks for), and the basis its metrics are measured against (data, resolution, N, classifier,
k): runs of different bases are never compared (report_verdict.comparable).
"""

import json
import sys
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from lab import layout
from lab.conf import SCHEDULE, science_overrides, setting_text
from lab.errors import LabError
from lab.loops import effective_real_fraction
from lab.views.report_plots import SEED
from lab.views.report_verdict import BASIS, SAMPLE_COUNT, setting_columns


def newest_sweep(root: Path = Path("multirun")) -> Path:
    """The sweep directory (multirun/<date>/<time>) modified last: what the report and the dashboard read by default."""
    sweeps = sorted((p for p in root.glob("*/*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    if not sweeps:
        raise LabError(f"no sweep under {root}/ (looked for {root}/<date>/<time>): run one with python -m lab -m …, or name the directory")
    return sweeps[-1]


def find_runs(paths) -> list[Path]:
    """Every run directory (one with config.yaml and metrics.jsonl) at or below the given paths."""
    runs = set()
    for path in map(Path, paths):
        if not path.is_dir():
            raise LabError(f"{path} is not a directory; give sweep or run directories")
        candidates = [path] if (path / layout.METRICS).exists() else [p.parent for p in path.rglob(layout.METRICS)]
        runs.update(c for c in candidates if (c / layout.CONFIG).exists())
    return sorted(runs)


def load_runs(paths, settings=()) -> pd.DataFrame:
    """Tidy table: run, generation, metric, value, plus loop, real_fraction, seed, every override key and the
    `settings` asked for (as a command line would name their values)."""
    frames = []
    runs = find_runs(paths)
    # A setting given on one sweep's command line and left to a preset in another is still a setting of both runs:
    # each run's own config.yaml supplies the value it did not name (else one condition would read "key=nan").
    named = {key for run in runs for key in _overrides(run)} | (set(settings) - {"loop", "seed"})
    configs = {run: OmegaConf.load(run / layout.CONFIG) for run in runs}
    if any(OmegaConf.select(cfg, SCHEDULE, default=None) for cfg in configs.values()):
        named.add(SCHEDULE)  # a schedule a preset set is a setting too: a scheduled chain is never taken for the control
    for run in runs:
        cfg = configs[run]
        overrides = {key: setting_text(cfg, key) for key in named} | _overrides(run)
        rows = jsonl_rows(run / layout.METRICS)
        records = []
        for row in rows:
            for key, value in row.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "generation":
                    records.append({"generation": row["generation"], "metric": key, "value": float(value)})
                elif key == "class_histogram":  # recognised samples per class: what the extinction table reads
                    records += [{"generation": row["generation"], "metric": f"{SAMPLE_COUNT}{c}", "value": float(n)} for c, n in enumerate(value)]
        frame = pd.DataFrame.from_records(records, columns=["generation", "metric", "value"])
        frame.insert(0, "run", str(run))
        fraction = effective_real_fraction(cfg.loop.name, cfg.loop.real_fraction)
        for key, value in {"loop": cfg.loop.name, "real_fraction": fraction, SEED: int(cfg.seed), **overrides, **_basis(run, cfg)}.items():
            frame[key] = value
        frames.append(frame)
    if not frames:
        raise LabError(f"no run directories (with config.yaml and metrics.jsonl) under {', '.join(map(str, paths))}")
    table = pd.concat(frames, ignore_index=True)
    table["condition"] = condition_labels(table)
    _one_run_per_seed(table)
    return table


def jsonl_rows(path: Path) -> list[dict]:
    """A run's metrics.jsonl or timing.jsonl rows. A cut last line is a chain still writing or killed mid-write (resume drops it too): the
    rows before it are read and the report says so; a damaged line before the last stops it in one line."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    rows = []
    for number, line in enumerate(lines, start=1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                print(f"note: {path} ends in a cut line (a chain still running, or killed while writing): read up to the row before it", file=sys.stderr)
                break
            raise LabError(f"{path} line {number} is not a JSON row (a damaged file); restore the run, or leave it out") from None
    return rows


def _one_run_per_seed(table: pd.DataFrame) -> None:
    """Two runs of one condition with the same seed are one replicate twice (same generation 0, same noise):
    counted as two seeds they would narrow every band. Stop before anything is written."""
    runs = table[["condition", SEED, "run"]].drop_duplicates()
    twice = runs[runs.duplicated(["condition", SEED], keep=False)]
    if len(twice):
        (condition, seed), part = next(iter(twice.groupby(["condition", SEED])))
        raise LabError(
            f"{condition}, seed={seed} is in {len(part)} runs ({', '.join(part.run)}); a seed is one "
            "replicate: give the report one of them, or runs that differ in an override (it splits them "
            "into conditions)"
        )


def _basis(run: Path, cfg) -> dict:
    """What a run's metrics are measured against: runs that differ in any of these cannot share a floor or a table."""
    path = run / layout.REFERENCE
    reference = json.loads(path.read_text()) if path.exists() else {}
    classifier = (reference.get("classifier") or {}).get("path")
    basis = {
        "data": "data.name",
        "resolution": "data.resolution",
        "class shares": "data.class_shares",
        "features": "metrics.features",
        "k": "metrics.nearest_k",
        "recognition threshold": "metrics.recognised_threshold",
    }
    values = {name: OmegaConf.select(cfg, key, default=None) for name, key in basis.items()}
    values |= {
        "N": reference.get("num_samples"),
        "classifier": Path(classifier).name if classifier else None,
        "metric definitions (version)": reference.get("metrics_version", 1),
    }
    return {f"{BASIS}{name}": str(OmegaConf.to_container(v) if OmegaConf.is_config(v) else v) for name, v in values.items()}


def _overrides(run: Path) -> dict:
    path = run / layout.OVERRIDES
    return science_overrides(OmegaConf.load(path) if path.exists() else [])


def condition_labels(table: pd.DataFrame) -> pd.Series:
    """A label per run: the loop, then the settings that vary across runs, seeds excepted (they form the band)."""
    keys = ["loop"] + [c for c in setting_columns(table) if table[c].nunique(dropna=False) > 1]
    if table.groupby("loop")["real_fraction"].nunique().max() > 1:
        keys.append("real_fraction")
    texts = table[keys].astype(str).apply(_short_numbers)
    return texts.apply(lambda r: ", ".join(f"{k}={v}" for k, v in zip(keys, r)), axis=1)


def _short_numbers(column: pd.Series) -> pd.Series:
    """A long decimal to 4 significant digits (1/9 reads 0.1111, not 0.1111111111111111), unless two of the
    column's values would then read alike: a label must name one condition."""
    short = column.map(_four_digits)
    # Compared as numbers where they are numbers: "1" and "1.0" would read as one value.
    return short if short.map(_as_number).nunique() == column.map(_as_number).nunique() else column


def _as_number(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def _four_digits(text: str) -> str:
    number = _as_number(text)
    if isinstance(number, str):
        return text
    return text if len(text) <= 8 or number.is_integer() else repr(float(f"{number:.4g}"))

"""What a resumed run checks before it trusts its directory: the files' checksums and the code's identity.

state.json records the SHA-256 of each completed generation's sample file and checkpoint, and the
code that wrote each stretch of generations. A file that no longer matches its checksum (truncated,
corrupted, replaced) is named in one line and its generation is redone, with every later one, since
they trained on it. A resume under other code stops unless `resume_other_code=true` says to continue.
"""

import hashlib
import subprocess
from pathlib import Path

import lab
from lab import layout

PACKAGE_DIR = Path(lab.__file__).resolve().parent
# Code outside a chain: the views of runs (the report, its page, the dashboards, the sweep preview) read run
# directories and settings and write none, so changing them leaves every run resumable.
VIEWS = PACKAGE_DIR / "views"


def sha256_of(path: Path) -> str:
    """A file's SHA-256, or a directory's: every file in it, by relative path, in sorted order."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if file != path:
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def generation_files(gen: int) -> tuple[str, str]:
    """The files of a generation that a resume relies on, relative to the run directory."""
    return layout.samples(gen), layout.checkpoint(gen)


def checksums_after(run_dir: Path, state: dict, gen: int) -> dict:
    """state["checksums"] with generation `gen`'s files added."""
    sums = dict(state.get("checksums", {}))
    for name in generation_files(gen):
        if (run_dir / name).exists():
            sums[name] = sha256_of(run_dir / name)
    return sums


def first_damaged(run_dir: Path, state: dict) -> tuple[int, str] | None:
    """(generation, file) of the earliest recorded file that is missing or no longer matches, else None."""
    damaged = []
    for name, expected in state.get("checksums", {}).items():
        path = run_dir / name
        if not path.exists() or sha256_of(path) != expected:
            damaged.append((layout.generation_of(name), name))
    return min(damaged) if damaged else None


def code_identity() -> dict:
    """The lab's version, its git commit where there is one, and a hash of the code that runs in a chain."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if not path.is_relative_to(VIEWS):
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return {"version": lab.__version__, "git_commit": _git_commit(), "source_sha256": digest.hexdigest()}


def _git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(PACKAGE_DIR), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(PACKAGE_DIR), "status", "--porcelain", "--", "."], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None  # installed from a wheel: the source hash still identifies the code
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def describe(code: dict) -> str:
    commit = code.get("git_commit")
    return f"lab {code.get('version')}" + (f", commit {commit[:12]}" if commit else "") + f", source {code['source_sha256'][:12]}"

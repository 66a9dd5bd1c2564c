"""Exclusive locks between processes: one writer per run directory, one trainer per cached classifier."""

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab.errors import LabError


@contextmanager
def exclusive(path: Path, what: str, wait: bool = False) -> Iterator[None]:
    """An exclusive OS lock (flock) on `path` for as long as the block runs.

    The kernel drops it when the holder dies (kill -9, a lost node), so a stale lock never blocks the
    next attempt. wait=False: a held lock raises LabError at once, naming the holder; wait=True: block.
    """
    while True:
        handle = open(path, "a+")  # never truncate on open: the holder's line must stay readable
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process (starting)"
            handle.close()
            raise LabError(f"{what} is in use by {holder}; wait for it to end or stop it (a stopped run resumes with the same command)") from None
        # The holder before us may have removed the file on its way out: our lock must be on the file
        # that is there now, or a third process could lock a new file beside ours.
        if path.exists() and os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
            break
        handle.close()
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
    handle.flush()
    try:
        yield
    finally:
        handle.truncate(0)
        if path.parent.is_dir() and [p.name for p in path.parent.iterdir()] == [path.name]:
            path.unlink()  # nothing was written beside it: leave the directory empty, as it was
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

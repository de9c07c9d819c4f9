"""Write report files atomically: a reader sees the old file or the new one.

A report is written to a temporary file in the same folder, flushed to disk,
then renamed over the target (``os.replace`` is atomic on POSIX and Windows
within one file system). An interrupted or aborted run therefore never
leaves a half-written report for CI to parse.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from loadgen.errors import ConfigError


def _umask() -> int:
    # os.umask has no read-only form: set it and put it back at once.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one step."""
    target = Path(path)
    fd, temp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or "."
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates the file 0600; a report is as readable as any file.
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def check_writable(path: str | Path, option: str) -> None:
    """Fail before the run, not after it, when a report cannot be written."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise ConfigError("the folder does not exist", field=option, value=str(path))
    if not os.access(folder, os.W_OK):
        raise ConfigError("the folder is not writable", field=option, value=str(path))
    if Path(path).is_dir():
        raise ConfigError(
            "is a folder; give a file name", field=option, value=str(path)
        )

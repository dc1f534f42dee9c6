"""Creating the bot's files: private to its user, and never written through a link.

The database, the allocation log and the exports hold names and addresses. A file
created with the umask's 0644 lets every local user read them, and a symbolic link
planted where the bot writes would send its writes (and the data) somewhere else. So:

- folders the bot creates are 0700 (`private_dir`);
- a file it appends to or locks is opened with O_NOFOLLOW and kept 0600
  (`open_append_private`, `open_lock_file`, `make_private`);
- a file it writes whole goes to a new temporary file beside the target, which then
  replaces it (`write_atomic`): `os.replace` replaces a link itself, never its target,
  and a reader sees the old file or the new one.

A link or a non-file where a file should be is a StoreError that names the path.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import TextIO

from inbox_bot.errors import StoreError

PRIVATE = 0o600


def private_dir(path: Path, mode: int = 0o700) -> None:
    """Create `path` and its missing parents with `mode`; existing folders stay as they are."""
    for folder in reversed((path, *path.parents)):
        if folder.is_dir():
            continue
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            if folder.is_dir():
                continue  # another process was quicker
            raise
        os.chmod(folder, mode)  # mkdir's mode is reduced by the umask


def open_append_private(path: Path) -> int:
    """A file descriptor for appending (and reading back) a private file, created if missing."""
    return _open_private(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)


def open_lock_file(path: Path) -> TextIO:
    """The lock file, opened for writing without truncating it (a holder's pid stays)."""
    return os.fdopen(_open_private(path, os.O_RDWR | os.O_CREAT), "r+", encoding="ascii")


def make_private(path: Path, *, create: bool = False) -> None:
    """Make a file 0600 (the database, its -wal and -shm), creating it empty if asked."""
    os.close(_open_private(path, os.O_RDONLY | (os.O_CREAT if create else 0)))


def write_atomic(path: Path, data: bytes, mode: int = PRIVATE) -> None:
    """Replace `path` with a file holding `data`: a reader sees the old file or the new one."""
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _open_private(path: Path, flags: int) -> int:
    try:
        descriptor = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(
                f"{path} is a symbolic link; inbox-bot writes only a file of its own "
                "there (remove the link)"
            ) from None
        raise StoreError(f"cannot open {path}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"{path} is not a regular file; inbox-bot writes only a file there")
        if stat.S_IMODE(info.st_mode) != PRIVATE and info.st_uid == os.geteuid():
            os.fchmod(descriptor, PRIVATE)  # a file from an older version, or created 0644
    except BaseException as exc:
        os.close(descriptor)
        if isinstance(exc, OSError):
            raise StoreError(f"cannot make {path} private: {exc.strerror or exc}") from exc
        raise
    return descriptor


def _sync_folder(folder: Path) -> None:
    """The rename itself survives a power cut only once the folder is on disk."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return  # a share that cannot be opened as a folder: the rename is done anyway
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems (SMB shares) refuse fsync on a folder
    finally:
        os.close(descriptor)

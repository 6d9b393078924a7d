"""Workspace confinement: every file a tool touches must resolve inside `settings.workspace`.

The check is done on the fully resolved real path (symlinks followed, including dangling ones),
so a link inside the workspace that points elsewhere is refused just like `../x` or `/etc/passwd`.
Files are then opened with `O_NOFOLLOW`, so a link swapped in after the check is not followed.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path, PurePosixPath

from app.config import get_settings
from app.errors import SecurityError, ToolInputError

MAX_PATH_CHARS = 1024
MAX_NAME_CHARS = 255
_HINT = "Use a path relative to the workspace, such as `data/leads.csv`."


def workspace_root(*, create: bool = False) -> Path:
    """The workspace's real absolute path; `create` makes the directory when it is missing."""
    root = Path(get_settings().workspace).expanduser()
    if create:
        root.mkdir(parents=True, exist_ok=True)
    return Path(os.path.realpath(root))


def resolve_in_workspace(path: str, *, must_exist: bool = False, for_write: bool = False) -> Path:
    """The real path of `path` inside the workspace, or `SecurityError` if it would leave it.

    `must_exist` requires an existing regular file or directory; reading (not `for_write`) an
    existing file also enforces `max_file_bytes`.
    """
    if not isinstance(path, str) or not path.strip():
        raise ToolInputError("the path is empty", hint=_HINT)
    if "\x00" in path:
        raise SecurityError("the path contains a NUL byte", hint=_HINT)
    if len(path) > MAX_PATH_CHARS:
        raise SecurityError(f"the path is longer than {MAX_PATH_CHARS} characters", hint=_HINT)
    parts = PurePosixPath(path).parts
    if ".." in parts:
        raise SecurityError(f"path {path!r} uses `..` to leave its directory", hint=_HINT)
    if any(len(part) > MAX_NAME_CHARS for part in parts):
        raise ToolInputError(f"a name in {path!r} is longer than {MAX_NAME_CHARS} characters")
    root = workspace_root(create=for_write)
    real = Path(os.path.realpath(root / path))  # an absolute `path` replaces `root` here
    if real != root and not real.is_relative_to(root):
        raise SecurityError(
            f"path {path!r} resolves outside the workspace",
            hint=f"{_HINT} Absolute paths and symbolic links must stay inside {root}.",
        )
    try:
        info = real.stat()
    except FileNotFoundError:
        if must_exist:
            raise ToolInputError(
                f"file {relative(real)!r} does not exist in the workspace",
                hint=f"Paths are relative to the workspace {root}.",
            ) from None
        return real
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise SecurityError(f"path {path!r} is a device or special file", hint=_HINT)
    if for_write and stat.S_ISDIR(info.st_mode):
        raise ToolInputError(f"path {path!r} is a directory", hint="Give a file name.")
    if not for_write and stat.S_ISREG(info.st_mode):
        _check_size(info.st_size, path)
    return real


def relative(real: Path) -> str:
    """A resolved path as the workspace-relative POSIX string tools report back."""
    root = workspace_root()
    return real.relative_to(root).as_posix() if real.is_relative_to(root) else real.name


def read_bytes(path: str) -> tuple[Path, bytes]:
    """Read a workspace file (at most `max_file_bytes`) without following a final symlink."""
    real = resolve_in_workspace(path, must_exist=True)
    if real.is_dir():
        raise ToolInputError(f"path {path!r} is a directory", hint="Give a file name.")
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise SecurityError(f"path {path!r} is not a regular file", hint=_HINT)
        limit = get_settings().max_file_bytes
        data = handle.read(limit + 1)
    _check_size(len(data), path)
    return real, data


def write_bytes(path: str, data: bytes, *, append: bool = False) -> Path:
    """Write a workspace file: atomically (temp file + `os.replace`) unless appending."""
    real = resolve_in_workspace(path, for_write=True)
    real.parent.mkdir(parents=True, exist_ok=True)
    if append:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(real, flags, 0o644)
        with os.fdopen(fd, "ab") as handle:
            handle.write(data)
        return real
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name[:40]}.", suffix=".tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return real


def _check_size(size: int, path: str) -> None:
    limit = get_settings().max_file_bytes
    if size > limit:
        raise ToolInputError(
            f"file {path!r} is larger than the {limit}-byte limit",
            hint="Raise FLOWWRIGHT_MAX_FILE_BYTES or split the file.",
        )

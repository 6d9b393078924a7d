"""Workspace confinement: every way out of the workspace is refused, nothing outside is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.errors import SecurityError, ToolInputError
from app.tools.files import read_file, write_file
from app.tools.sandbox import read_bytes, relative, resolve_in_workspace


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    return secret


def test_relative_path_resolves_inside_the_workspace(workspace: Path) -> None:
    real = resolve_in_workspace("data/leads.csv", for_write=True)
    assert real == workspace.resolve() / "data" / "leads.csv"
    assert relative(real) == "data/leads.csv"


def test_workspace_is_created_on_first_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings

    root = tmp_path / "not-yet"
    monkeypatch.setenv("FLOWWRIGHT_WORKSPACE", str(root))
    get_settings.cache_clear()
    try:
        assert write_file.invoke({"path": "a.txt", "content": "x"})["path"] == "a.txt"
        assert (root / "a.txt").read_text() == "x"
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("path", ["../secret.txt", "a/../../secret.txt", "./../secret.txt"])
def test_dotdot_traversal_is_refused(workspace: Path, outside: Path, path: str) -> None:
    with pytest.raises(SecurityError) as info:
        read_file.invoke({"path": path})
    assert info.value.hint
    with pytest.raises(SecurityError):
        write_file.invoke({"path": path, "content": "pwned"})
    assert outside.read_text() == "top secret"


def test_absolute_paths_outside_are_refused(workspace: Path, outside: Path) -> None:
    with pytest.raises(SecurityError, match="outside the workspace"):
        read_file.invoke({"path": "/etc/passwd"})
    with pytest.raises(SecurityError):
        write_file.invoke({"path": str(outside), "content": "pwned"})
    assert outside.read_text() == "top secret"


def test_absolute_path_inside_the_workspace_is_allowed(workspace: Path) -> None:
    (workspace / "in.txt").write_text("hello")
    assert read_file.invoke({"path": str(workspace / "in.txt")}) == "hello"


def test_symlink_to_etc_is_refused(workspace: Path) -> None:
    (workspace / "etc").symlink_to("/etc")
    with pytest.raises(SecurityError):
        read_file.invoke({"path": "etc/passwd"})
    (workspace / "pw").symlink_to("/etc/passwd")
    with pytest.raises(SecurityError):
        read_file.invoke({"path": "pw"})


def test_symlinked_directory_escape_refused_for_reads_and_writes(
    workspace: Path, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "x.txt").write_text("outside")
    (workspace / "sub").mkdir()
    (workspace / "sub" / "link").symlink_to(target, target_is_directory=True)
    with pytest.raises(SecurityError):
        read_file.invoke({"path": "sub/link/x.txt"})
    with pytest.raises(SecurityError):
        write_file.invoke({"path": "sub/link/new.txt", "content": "pwned"})
    with pytest.raises(SecurityError):
        write_file.invoke({"path": "sub/link/x.txt", "content": "pwned", "append": True})
    assert sorted(p.name for p in target.iterdir()) == ["x.txt"]
    assert (target / "x.txt").read_text() == "outside"


def test_dangling_symlink_pointing_outside_is_refused(workspace: Path, tmp_path: Path) -> None:
    (workspace / "dangling").symlink_to(tmp_path / "will-be-created.txt")
    with pytest.raises(SecurityError):
        write_file.invoke({"path": "dangling", "content": "pwned"})
    assert not (tmp_path / "will-be-created.txt").exists()


def test_symlink_that_stays_inside_is_fine(workspace: Path) -> None:
    (workspace / "real.txt").write_text("inside")
    (workspace / "alias.txt").symlink_to(workspace / "real.txt")
    assert read_file.invoke({"path": "alias.txt"}) == "inside"


def test_nul_byte_is_refused(workspace: Path) -> None:
    with pytest.raises(SecurityError, match="NUL"):
        read_file.invoke({"path": "a\x00.txt"})
    with pytest.raises(SecurityError, match="NUL"):
        resolve_in_workspace("x\x00/../../etc/passwd", for_write=True)


def test_overlong_path_is_refused(workspace: Path) -> None:
    with pytest.raises(SecurityError, match="longer"):
        resolve_in_workspace("a/" * 600 + "b")


def test_special_files_are_refused(workspace: Path) -> None:
    os.mkfifo(workspace / "pipe")
    with pytest.raises(SecurityError, match="special"):
        read_file.invoke({"path": "pipe"})
    with pytest.raises(SecurityError, match="special"):
        write_file.invoke({"path": "pipe", "content": "x"})


def test_missing_file_and_directory_are_input_errors(workspace: Path) -> None:
    with pytest.raises(ToolInputError, match="does not exist"):
        read_file.invoke({"path": "nope.txt"})
    (workspace / "dir").mkdir()
    with pytest.raises(ToolInputError, match="directory"):
        read_file.invoke({"path": "dir"})
    with pytest.raises(ToolInputError, match="directory"):
        write_file.invoke({"path": "dir", "content": "x"})


def test_reads_enforce_max_file_bytes(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import get_settings

    (workspace / "big.txt").write_text("x" * 100)
    monkeypatch.setenv("FLOWWRIGHT_MAX_FILE_BYTES", "50")
    get_settings.cache_clear()
    with pytest.raises(ToolInputError, match="50-byte limit") as info:
        read_file.invoke({"path": "big.txt"})
    assert "FLOWWRIGHT_MAX_FILE_BYTES" in (info.value.hint or "")
    (workspace / "small.txt").write_text("x" * 50)
    assert read_bytes("small.txt")[1] == b"x" * 50

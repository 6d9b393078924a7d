"""Checks of a generated project, each run with a timeout and reported on its own.

ruff check, compile + import, `alembic upgrade head` (then `downgrade base`) on SQLite and, when
asked, on a fresh PostgreSQL database, and the generated pytest suite. Several projects' suites
can run in one pytest process (each project has its own package name) to save interpreter starts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from app.backend.render import ruff_command

TIMEOUT_S = 180


@dataclass
class CheckResult:
    """One check's outcome; `passed`/`failed` count tests for the pytest check."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""
    passed: int | None = None
    failed: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
            "passed": self.passed,
            "failed": self.failed,
        }


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TEST_DATA"))}
    env.update(PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def _run(
    name: str, cmd: list[str], cwd: Path, timeout: float = TIMEOUT_S, **env: str
) -> CheckResult:
    return _run_with_stdout(name, cmd, cwd, timeout, **env)[0]


def _run_with_stdout(
    name: str, cmd: list[str], cwd: Path, timeout: float = TIMEOUT_S, **env: str
) -> tuple[CheckResult, str]:
    """The check (its detail: the output's tail) and the complete stdout, for batch parsers."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=_env(**env)
        )
    except subprocess.TimeoutExpired:
        elapsed = time.perf_counter() - start
        return CheckResult(name, False, elapsed, f"timed out after {timeout}s"), ""
    output = (proc.stdout + proc.stderr).strip()
    check = CheckResult(name, proc.returncode == 0, time.perf_counter() - start, output[-4000:])
    return check, proc.stdout


def check_ruff(project: Path) -> CheckResult:
    ruff = ruff_command()
    if ruff is None:
        return CheckResult("ruff", False, 0.0, "ruff is not installed")
    return _run("ruff", [*ruff, "check", "--no-cache", "."], project, 60)


def check_import(project: Path, package: str) -> CheckResult:
    """Every .py file compiles, and the app (with all models mapped) imports."""
    code = (
        "import pathlib, sys\n"
        "for p in sorted(pathlib.Path('.').rglob('*.py')):\n"
        "    compile(p.read_text(encoding='utf-8'), str(p), 'exec')\n"
        f"import sqlalchemy.orm, {package}.main\n"
        "sqlalchemy.orm.configure_mappers()\n"
        f"print(len({package}.main.app.routes), 'routes')\n"
    )
    return _run("compile/import", [sys.executable, "-B", "-c", code], project, 60)


def check_alembic(project: Path, database_url: str, name: str = "alembic sqlite") -> CheckResult:
    """upgrade head, then downgrade base and upgrade again: the migration is reversible."""
    cmd = [
        sys.executable,
        "-B",
        "-c",
        (
            "import sys; from alembic.config import main\n"
            "for args in (['upgrade', 'head'], ['downgrade', 'base'], ['upgrade', 'head']):\n"
            "    main(argv=['-q', *args])\n"
        ),
    ]
    return _run(name, cmd, project, 120, DATABASE_URL=database_url)


def check_alembic_sqlite(project: Path) -> CheckResult:
    with tempfile.TemporaryDirectory(prefix="fw-alembic-") as tmp:
        return check_alembic(project, f"sqlite:///{tmp}/db.sqlite3")


def check_alembic_postgres(project: Path, server_url: str) -> CheckResult:
    """Run the migration in a fresh database on the server of `server_url`, then drop it."""
    import psycopg

    start = time.perf_counter()
    admin = re.sub(r"^postgresql\+psycopg://", "postgresql://", server_url)
    name = f"fw_{uuid.uuid4().hex[:12]}"
    target = re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", admin.split("://", 1)[1], count=1)
    target_url = "postgresql://" + target
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        return CheckResult("alembic postgres", False, time.perf_counter() - start, str(exc))
    try:
        result = check_alembic(project, target_url, "alembic postgres")
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    result.seconds = time.perf_counter() - start
    return result


def check_pytest(projects: list[Path], timeout: float = TIMEOUT_S) -> dict[Path, CheckResult]:
    """Run the generated suites (one process for all), with per-project pass/fail counts."""
    projects = [p.resolve() for p in projects]
    root = Path(os.path.commonpath([p.parent for p in projects])) if projects else Path(".")
    with tempfile.TemporaryDirectory(prefix="fw-pytest-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        paths = " ".join(str(p) for p in projects)
        ini.write_text(f"[pytest]\npythonpath = {paths}\n", encoding="utf-8")
        report = Path(tmp) / "report.xml"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ini),
            "--rootdir",
            str(root),
            "--import-mode=importlib",
            f"--junit-xml={report}",
            "-W",
            "ignore::DeprecationWarning",
            *[str(p / "tests") for p in projects],
        ]
        run = _run("pytest", cmd, root, timeout)
        counts = _junit_counts(report, root) if report.exists() else {}
    results = {}
    for p in projects:
        passed, failed = counts.get(p.relative_to(root).parts[0] if p != root else "", (0, 0))
        ok = (
            run.ok and failed == 0 and passed > 0
            if len(projects) == 1
            else (failed == 0 and passed > 0)
        )
        detail = f"{passed} passed, {failed} failed"
        if not ok:
            detail += "\n" + run.detail
        results[p] = CheckResult("pytest", ok, run.seconds, detail, passed, failed)
    return results


def _junit_counts(report: Path, root: Path) -> dict[str, tuple[int, int]]:
    """(passed, failed) per first path component below `root`, from a JUnit XML report."""
    counts: dict[str, list[int]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        classname = case.get("classname", "")
        key = classname.split(".", 1)[0] if "." in classname else ""
        bad = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        slot = counts.setdefault(key, [0, 0])
        if bad:
            slot[1] += 1
        elif not skipped:
            slot[0] += 1
    if len(counts) == 1 and "" not in counts:
        counts[""] = next(iter(counts.values()))
    return {k: (v[0], v[1]) for k, v in counts.items()}


def run_all(project: Path, package: str, *, postgres_url: str | None = None) -> list[CheckResult]:
    """Every check on one project, in order; later checks still run when one fails."""
    results = [check_ruff(project), check_import(project, package), check_alembic_sqlite(project)]
    if postgres_url:
        results.append(check_alembic_postgres(project, postgres_url))
    results.append(check_pytest([project])[project.resolve()])
    return results


_ALEMBIC_BATCH = """
import json, os, sys, time, traceback
from alembic import command
from alembic.config import Config
for project, url, label in json.loads(sys.argv[1]):
    start = time.perf_counter()
    os.chdir(project)
    sys.path.insert(0, project)
    os.environ["DATABASE_URL"] = url
    try:
        cfg = Config(os.path.join(project, "alembic.ini"))
        command.upgrade(cfg, "head")
        command.downgrade(cfg, "base")
        command.upgrade(cfg, "head")
        ok, detail = True, ""
    except BaseException:
        ok, detail = False, traceback.format_exc()[-3000:]
    finally:
        sys.path.remove(project)
    print(json.dumps([project, label, ok, time.perf_counter() - start, detail]), flush=True)
"""


def check_alembic_many(
    projects: list[Path], *, postgres_url: str | None = None, timeout: float = TIMEOUT_S
) -> dict[Path, list[CheckResult]]:
    """Migrations of several projects (distinct package names) in one interpreter."""
    import json

    projects = [p.resolve() for p in projects]
    results: dict[Path, list[CheckResult]] = {p: [] for p in projects}
    databases: list[str] = []
    admin = re.sub(r"^postgresql\+psycopg://", "postgresql://", postgres_url or "")
    with tempfile.TemporaryDirectory(prefix="fw-alembic-") as tmp:
        jobs = []
        for i, p in enumerate(projects):
            jobs.append((str(p), f"sqlite:///{tmp}/db{i}.sqlite3", "alembic sqlite"))
            if postgres_url:
                name = f"fw_{uuid.uuid4().hex[:12]}"
                databases.append(name)
                url = "postgresql://" + re.sub(
                    r"/[^/?]*(\?|$)", f"/{name}\\1", admin.split("://", 1)[1], count=1
                )
                jobs.append((str(p), url, "alembic postgres"))
        try:
            if databases:
                import psycopg

                with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
                    for name in databases:
                        conn.execute(f'CREATE DATABASE "{name}"')
            run, stdout = _run_with_stdout(
                "alembic",
                [sys.executable, "-B", "-c", _ALEMBIC_BATCH, json.dumps(jobs)],
                Path(tmp),
                timeout,
            )
        finally:
            if databases:
                with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
                    for name in databases:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    seen = set()
    for line in stdout.splitlines():  # the whole stdout: `run.detail` is only the output's tail
        if line.startswith('["'):
            project, label, ok, seconds, detail = json.loads(line)
            results[Path(project)].append(CheckResult(label, ok, seconds, detail))
            seen.add((project, label))
    for project, _, label in jobs:
        if (project, label) not in seen:
            results[Path(project)].append(CheckResult(label, False, 0.0, run.detail[-3000:]))
    return results

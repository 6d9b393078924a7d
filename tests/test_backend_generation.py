"""Acceptance: generated services pass ruff, Alembic (SQLite + PostgreSQL) and their own tests.

All projects are generated once per module; migrations run in one interpreter and the generated
suites in one pytest process (each project has its own package), so the module stays fast.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.backend.checks import CheckResult, check_alembic_many, check_pytest, check_ruff
from app.backend.service import BackendResult, generate_backend
from tests.test_backend_planner import DOMAINS

ROOT = Path(__file__).resolve().parents[1]
BACKBONE = ROOT.parent / "shared" / "examples" / "backbone"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"

OURS = sorted((ROOT / "examples" / "models").glob("*.yaml"))
BACKBONE_FILES = sorted(BACKBONE.glob("*.json")) if BACKBONE.is_dir() else []
REQUESTS = [d[0] for d in DOMAINS[:8]]
INPUTS: dict[str, Path | str] = {
    **{f"backbone_{p.stem}": p for p in BACKBONE_FILES},
    **{f"ours_{p.stem}": p for p in OURS},
    **{f"english_{i}": r for i, r in enumerate(REQUESTS)},
}

pytestmark = [pytest.mark.slow]


def _postgres_up() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES, connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BackendResult]:
    root = tmp_path_factory.mktemp("backends")
    results = {}
    for key, source in INPUTS.items():
        start = time.perf_counter()
        result = generate_backend(source, root / key, run_checks=False)
        result.timings["wall"] = time.perf_counter() - start
        results[key] = result
    return results


@pytest.fixture(scope="module")
def migrations(generated: dict[str, BackendResult]) -> dict[str, list[CheckResult]]:
    dirs = {key: r.out_dir for key, r in generated.items() if r.out_dir}
    url = POSTGRES if _postgres_up() else None
    by_dir = check_alembic_many(list(dirs.values()), postgres_url=url, timeout=300)
    return {key: by_dir[d.resolve()] for key, d in dirs.items()}


@pytest.fixture(scope="module")
def suites(generated: dict[str, BackendResult]) -> dict[str, CheckResult]:
    dirs = {key: r.out_dir for key, r in generated.items() if r.out_dir}
    by_dir = check_pytest(list(dirs.values()), timeout=400)
    return {key: by_dir[d.resolve()] for key, d in dirs.items()}


def test_inputs_cover_the_acceptance_set() -> None:
    assert len(OURS) >= 4 and len(REQUESTS) >= 8
    assert any("30" in p.stem for p in OURS)


@pytest.mark.parametrize("key", list(INPUTS))
def test_generates_in_under_a_second(generated: dict[str, BackendResult], key: str) -> None:
    result = generated[key]
    assert result.report.ok, [(d.path, d.message) for d in result.diagnostics]
    assert result.out_dir is not None and (result.out_dir / "alembic.ini").exists()
    assert result.timings["generate"] < 3.0  # ≤ 1 s unloaded; see benchmarks/backend.py


def test_package_names_are_distinct(generated: dict[str, BackendResult]) -> None:
    names = [r.model.name for r in generated.values() if r.model]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("key", list(INPUTS))
def test_ruff_passes(generated: dict[str, BackendResult], key: str) -> None:
    check = check_ruff(generated[key].out_dir)
    assert check.ok, check.detail


@pytest.mark.parametrize("key", list(INPUTS))
def test_alembic_upgrade_sqlite(migrations: dict[str, list[CheckResult]], key: str) -> None:
    check = next(c for c in migrations[key] if c.name == "alembic sqlite")
    assert check.ok, check.detail


@pytest.mark.postgres
@pytest.mark.parametrize("key", list(INPUTS))
def test_alembic_upgrade_postgres(migrations: dict[str, list[CheckResult]], key: str) -> None:
    if not _postgres_up():
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    check = next(c for c in migrations[key] if c.name == "alembic postgres")
    assert check.ok, check.detail


@pytest.mark.parametrize("key", list(INPUTS))
def test_generated_suite_passes(suites: dict[str, CheckResult], key: str) -> None:
    check = suites[key]
    assert check.ok and check.passed and check.passed >= 8 and check.failed == 0, check.detail


def test_generated_tests_cover_every_endpoint(generated: dict[str, BackendResult]) -> None:
    out = generated["ours_blog_m2m"].out_dir
    tests = (out / "tests" / "test_articles.py").read_text()
    for fragment in (
        "client.post(",
        "client.get(",
        "client.patch(",
        "client.delete(",
        "== 404",
        "== 409",
        "== 422",
        "/tags",
        "client.put(",
    ):
        assert fragment in tests


def test_service_runs_every_check_and_reports_each(tmp_path: Path) -> None:
    url = POSTGRES if _postgres_up() else None
    result = generate_backend(
        ROOT / "examples" / "models" / "org_tree.yaml", tmp_path / "org", postgres_url=url
    )
    names = [c.name for c in result.checks]
    expected = ["ruff", "compile/import", "alembic sqlite", "alembic postgres", "pytest"]
    assert names == (expected if url else [n for n in expected if "postgres" not in n])
    assert result.ok, [(c.name, c.detail) for c in result.checks if not c.ok]
    assert result.checks[-1].passed and result.checks[-1].failed == 0

"""Workflow-target artifacts (DESIGN §5): render them from templates, write them, check them.

Rendering uses a plain Jinja2 environment over the repository's `templates/` directory. Spec
values reach generated *code* only through the `py` filter (a `repr` of JSON-plain data), `json`,
`ident` (refuses anything that is not an identifier) or `comment` (one sanitized line), so a
request or spec can never inject code. Everything is rendered in memory, written to a temporary
sibling directory and moved into place only once complete: a failure never leaves partial output.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from agents.nodes.examples import example_inputs, fixtures, with_examples
from app.errors import FlowwrightError
from app.tools.registry import Catalog
from app.workflow.analysis import step_dependencies
from app.workflow.spec import WorkflowSpec

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
ARTIFACTS = {
    "workflow.yaml": None,
    "graph.py": "workflow/graph.py.j2",
    "langgraph.json": "workflow/langgraph.json.j2",
    "test_workflow.py": "workflow/test_workflow.py.j2",
    "diagram.mmd": "workflow/diagram.mmd.j2",
    "README.md": "workflow/README.md.j2",
}
NONDETERMINISTIC_TOOLS = frozenset({"current_time"})  # pure, but their output follows the clock
_REQUIREMENT_SETTINGS = {
    "llm": ("llm_model", "FLOWWRIGHT_LLM_MODEL"),
    "smtp": ("smtp_host", "FLOWWRIGHT_SMTP_HOST"),
    "database": ("sql_url", "FLOWWRIGHT_SQL_URL"),
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class RenderError(FlowwrightError):
    code = "RENDER_FAILED"


def _plain(value: Any) -> Any:
    """JSON-plain data (dict/list/str/int/float/bool/None), whose `repr` is a Python literal."""
    return json.loads(json.dumps(value, default=str))


def _py(value: Any) -> str:
    return repr(_plain(value))


def _ident(value: Any) -> str:
    if not isinstance(value, str) or not _IDENT.match(value) or keyword.iskeyword(value):
        raise RenderError(f"{value!r} is not a Python identifier", hint="Rename the step or input.")
    return value


def _comment(value: Any) -> str:
    return _CONTROL.sub(" ", str(value)).strip()[:120]


def _mmd(value: Any) -> str:
    """Text safe inside a quoted Mermaid label."""
    text = _comment(value if isinstance(value, str) else json.dumps(value, default=str))
    for char, code in (("&", "#38;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"),
                       ("{", "#123;"), ("}", "#125;"), ("|", "#124;")):  # fmt: skip
        text = text.replace(char, code)
    return text


def _md(value: Any) -> str:
    return _comment(value).replace("|", "\\|")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=False,  # code and text, never HTML: values go through the filters instead
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        py=_py, ident=_ident, comment=_comment, mmd=_mmd, md=_md,
        json=lambda v: json.dumps(_plain(v), ensure_ascii=False),
        jsonline=lambda v: json.dumps(_plain(v), ensure_ascii=False)[:60],
    )  # fmt: skip
    return env


def _diagram(spec: WorkflowSpec, deps: dict[str, set[str]]) -> dict[str, list[str]]:
    """Mermaid nodes and edges: steps, `when` conditions as diamonds, `for_each` as loops."""
    nodes: list[str] = []
    edges: list[str] = []
    dependents = {d for ds in deps.values() for d in ds}
    for step in spec.steps:
        sid = f"s_{_ident(step.id)}"
        label = f"{_mmd(step.id)}<br/>{_mmd(step.tool)}"
        if step.for_each is not None:
            nodes.append(f'{sid}[["{label}<br/>for each: {_mmd(step.for_each)}"]]')
            edges.append(f"{sid} -->|next item| {sid}")
        else:
            nodes.append(f'{sid}["{label}"]')
        sources = [f"s_{d}" for d in (s.id for s in spec.steps) if d in deps[step.id]]
        target = sid
        if step.when is not None:
            target = f"c_{step.id}"
            nodes.append(f'{target}{{"when {_mmd(step.when)}"}}')
            edges.append(f"{target} -->|true| {sid}")
        for source in sources or ["inputs"]:
            edges.append(f"{source} --> {target}")
        if step.id not in dependents:
            edges.append(f"{sid} --> outputs")
    return {"nodes": nodes, "edges": edges}


def template_context(
    spec: WorkflowSpec, catalog: Catalog, *, request: str, catalog_file: str | None
) -> dict[str, Any]:
    """Everything the templates need, computed once (dependencies, side effects, fixtures...)."""
    deps = step_dependencies(spec)
    order = [s.id for s in spec.steps]
    infos = {s.tool: catalog.info(s.tool) for s in spec.steps}
    steps, edges, dependents = [], [], set()
    for step in spec.steps:
        step_deps = [d for d in order if d in deps[step.id]]
        dependents.update(step_deps)
        data = step.model_dump(mode="json", exclude_defaults=True)
        steps.append({
            "id": _ident(step.id), "tool": step.tool, "description": step.description,
            "side_effect": str(infos[step.tool].side_effect), "data": data, "deps": step_deps,
            "when": step.when, "for_each": step.for_each,
        })  # fmt: skip
        source = _py(step_deps if len(step_deps) > 1 else step_deps[0]) if step_deps else "START"
        edges.append((source, _py(step.id)))
    sinks = [s for s in order if s not in dependents]
    edges.append((_py(sinks if len(sinks) > 1 else sinks[0]), _py("__outputs__")))
    edges.append((_py("__outputs__"), "END"))
    needs = sorted({
        _REQUIREMENT_SETTINGS[str(r)] for info in infos.values()
        if info.side_effect in ("pure", "reads") for r in info.requires
    })  # fmt: skip
    return {
        "spec": spec, "request": request, "catalog_file": catalog_file, "steps": steps,
        "edges": edges, "step_ids": order, "outputs": spec.outputs,
        "side_effects": {name: str(info.side_effect) for name, info in infos.items()},
        "example_inputs": example_inputs(spec), "fixtures": fixtures(spec, catalog),
        "needs": [list(n) for n in needs],
        "pure_only": all(info.side_effect == "pure" for info in infos.values()),
        "deterministic": not (set(infos) & NONDETERMINISTIC_TOOLS),
        "diagram": _diagram(spec, deps), "input_names": ", ".join(spec.inputs),
        "output_names": ", ".join(spec.outputs),
    }  # fmt: skip


def render_artifacts(
    spec: WorkflowSpec, catalog: Catalog, *, request: str, catalog_file: str | None = None
) -> dict[str, str]:
    """File name → text for every artifact, all in memory (RenderError when one cannot render)."""
    spec = with_examples(spec)
    try:
        context = template_context(spec, catalog, request=request, catalog_file=catalog_file)
        env = environment()
        files = {"workflow.yaml": spec.to_yaml()}
        for name, template in ARTIFACTS.items():
            if template is not None:
                files[name] = env.get_template(template).render(context)
    except RenderError:
        raise
    except (jinja2.TemplateError, KeyError, ValueError, TypeError) as exc:
        raise RenderError(f"cannot render the artifacts: {type(exc).__name__}: {exc}") from exc
    return files


def write_artifacts(files: dict[str, str], out_dir: str | Path) -> list[str]:
    """Write all files to a temporary sibling directory, then move them into `out_dir`."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RenderError(f"{out} exists and is not a directory", hint="Choose another --out.")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".flowwright-", dir=out.parent))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        if not out.exists():
            staging.rename(out)
        else:
            for name in files:
                os.replace(staging / name, out / name)
    except OSError as exc:
        raise RenderError(f"cannot write the artifacts to {out}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return list(files)


# -- artifact checks -------------------------------------------------------------------------


class CheckResult(BaseModel):
    """One artifact check: ok, a short detail (the tool's output when it failed), duration."""

    name: str
    ok: bool
    detail: str = ""
    duration_ms: float = 0.0
    skipped: bool = False


PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHECK_TIMEOUT_S = 60.0
RUFF_ARGS = ("check", "--isolated", "--no-cache", "--select", "E,F,W,I,B,UP", "--ignore", "E501")


@functools.lru_cache(maxsize=1)
def _check_home() -> tempfile.TemporaryDirectory[str]:
    """Flowwright state of check subprocesses: outside the artifacts, removed at exit."""
    return tempfile.TemporaryDirectory(prefix="flowwright-checks-")


def check_env(out_dir: Path) -> dict[str, str]:
    """Subprocess environment: the out dir and Flowwright importable, no bytecode litter, and
    Flowwright's own state (run history, checkpoints) kept out of the artifacts, untraced."""
    env = dict(os.environ)
    paths = [str(out_dir), str(PROJECT_ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["FLOWWRIGHT_HOME"] = _check_home().name
    env.pop("FLOWWRIGHT_DATABASE_URL", None)
    env["FLOWWRIGHT_TRACE_LOCAL"] = "false"
    return env


def ruff_command() -> list[str] | None:
    sibling = Path(sys.executable).with_name("ruff")
    if sibling.exists():
        return [str(sibling)]
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    return None


def pytest_command(*targets: str) -> list[str]:
    """The generated tests in one pytest process (`importlib` mode: many dirs, same names)."""
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "--import-mode=importlib", *targets]  # fmt: skip


def _process(name: str, command: list[str], cwd: Path, timeout_s: float) -> CheckResult:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=cwd, env=check_env(cwd), capture_output=True, text=True,
            timeout=timeout_s, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        elapsed = (time.perf_counter() - start) * 1000
        return CheckResult(name=name, ok=False, detail=f"timed out after {timeout_s:g}s",
                           duration_ms=round(elapsed, 1))  # fmt: skip
    except OSError as exc:
        return CheckResult(name=name, ok=False, detail=f"cannot start {command[0]}: {exc}")
    elapsed = round((time.perf_counter() - start) * 1000, 1)
    output = (done.stdout + done.stderr).strip()
    detail = output.splitlines()[-1] if done.returncode == 0 and output else output[-2000:]
    return CheckResult(name=name, ok=done.returncode == 0, detail=detail, duration_ms=elapsed)


def _compile(out: Path) -> CheckResult:
    start = time.perf_counter()
    problems = []
    for name in ("graph.py", "test_workflow.py"):
        try:  # what py_compile does, without writing bytecode into the out dir
            compile((out / name).read_text(encoding="utf-8"), str(out / name), "exec")
        except (SyntaxError, ValueError, OSError) as exc:
            problems.append(f"{name}: {exc}")
    elapsed = round((time.perf_counter() - start) * 1000, 1)
    detail = "; ".join(problems) or "graph.py, test_workflow.py compile"
    return CheckResult(name="compile", ok=not problems, detail=detail, duration_ms=elapsed)


def _ruff(out: Path) -> CheckResult:
    command = ruff_command()
    if command is None:
        return CheckResult(name="ruff", ok=True, skipped=True, detail="skipped: ruff not installed")
    args = [*command, *RUFF_ARGS, "graph.py", "test_workflow.py"]
    return _process("ruff", args, out, CHECK_TIMEOUT_S)


# The import check runs in a child forked from a warm helper process that has already imported
# LangGraph (what every graph.py imports): still a separate process with a fresh `graph` module in
# the out dir, but ~50 ms instead of a cold interpreter's seconds. Plain subprocess elsewhere.
_IMPORTER = r"""
import json, os, sys, traceback
import langgraph.graph
print("ready", flush=True)
for line in sys.stdin:
    out_dir = json.loads(line)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 0
        try:
            os.chdir(out_dir)
            sys.path.insert(0, out_dir)
            import graph
        except BaseException:
            os.write(write, traceback.format_exc()[-2000:].encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        detail = pipe.read()
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"code": os.waitstatus_to_exitcode(status), "detail": detail}), flush=True)
"""
_importer: subprocess.Popen[str] | None = None
_importer_lock = threading.Lock()


def _warm_import(out: Path) -> CheckResult | None:
    """The import check through the warm helper; None when it is unavailable (then: cold)."""
    global _importer
    if not hasattr(os, "fork"):
        return None
    start = time.perf_counter()
    with _importer_lock:
        try:
            if _importer is None or _importer.poll() is not None:
                _importer = subprocess.Popen(
                    [sys.executable, "-c", _IMPORTER], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                    env=check_env(PROJECT_ROOT),
                )  # fmt: skip
                if _importer.stdout is None or _importer.stdout.readline().strip() != "ready":
                    raise OSError("import helper did not start")
            assert _importer.stdin is not None and _importer.stdout is not None
            _importer.stdin.write(json.dumps(str(out.resolve())) + "\n")
            _importer.stdin.flush()
            answer = json.loads(_importer.stdout.readline())
        except (OSError, ValueError, AssertionError):
            if _importer is not None:
                _importer.kill()
            _importer = None
            return None
    elapsed = round((time.perf_counter() - start) * 1000, 1)
    ok = answer["code"] == 0
    detail = "import graph: ok" if ok else answer["detail"].strip()
    return CheckResult(name="import", ok=ok, detail=detail, duration_ms=elapsed)


def _import(out: Path) -> CheckResult:
    warm = _warm_import(out)
    if warm is not None:
        return warm
    return _process("import", [sys.executable, "-c", "import graph"], out, CHECK_TIMEOUT_S)


def run_checks(
    out_dir: str | Path, *, run_tests: bool = True, timeout_s: float = 120.0
) -> list[CheckResult]:
    """compile, ruff, import and (unless `run_tests` is off) the generated tests, in parallel."""
    out = Path(out_dir)
    jobs = {
        "compile": lambda: _compile(out),
        "ruff": lambda: _ruff(out),
        "import": lambda: _import(out),
    }
    if run_tests:
        jobs["test"] = lambda: _process("test", pytest_command("test_workflow.py"), out, timeout_s)
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        results = [futures[name].result() for name in jobs]
    if not run_tests:
        results.append(
            CheckResult(name="test", ok=True, skipped=True, detail="skipped (--no-test)")
        )
    return results

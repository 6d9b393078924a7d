"""`flowwright generate` (request → workflow artifacts, with live agent progress) and `graph`.

Registered by `register(app)` so main.py stays a list of one-line registrations; this module
imports only typer at start-up, and the agents, LangGraph and rich when a command runs.
Exit codes: 0 generated and checked, 1 generation failed, 2 bad input, 3 waiting for approval.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_WAITING = 3
# Planner and run errors that mean "the input was bad", not "generation broke" (`plan` exits 2
# for the same request errors).
BAD_INPUT_CODES = frozenset(
    {
        "EMPTY_REQUEST",
        "REQUEST_TOO_LONG",
        "PROMPT_INJECTION",
        "NO_WORDS",
        "NO_MATCHING_TOOL",
        "UNPLANNED_ACTION",
        "PER_ITEM_CONDITION",
        "INPUT_INVALID",
    }
)
_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}
_HELP = ("-h", "--help")


class _GenerateCommand(TyperCommand):
    """`generate backend --help` shows the backend command's help, not the workflow one."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args[:1] == ["backend"] and any(a in _HELP for a in args[1:]):
            ctx.exit(_backend(["--help"], out=None, as_json=False))
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    app.command("generate", context_settings=_CONTEXT, cls=_GenerateCommand)(generate)
    app.command("graph")(graph)


def generate(
    ctx: typer.Context,
    request: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="REQUEST",
            help="What the workflow should do (or: backend ..., see `generate backend --help`).",
        ),
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", "-o", metavar="DIR", help="Output directory.")
    ] = None,
    planner: Annotated[str, typer.Option("--planner", help="rules (offline) or llm.")] = "rules",
    catalog: Annotated[
        str | None, typer.Option("--catalog", metavar="FILE", help="TaskBench tool_desc.json.")
    ] = None,
    execute: Annotated[
        bool, typer.Option("--execute", help="Really run the workflow instead of a dry run.")
    ] = False,
    approve: Annotated[
        bool, typer.Option("--approve", help="Ask before a run with side effects (--execute).")
    ] = False,
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", metavar="K=V", help="Workflow input; repeatable."),
    ] = None,
    no_test: Annotated[
        bool, typer.Option("--no-test", help="Skip running the generated tests.")
    ] = False,
    resume: Annotated[
        str | None, typer.Option("--resume", metavar="JOB", help="Resume a paused/crashed job.")
    ] = None,
    reject: Annotated[
        bool, typer.Option("--reject", help="With --resume: reject the pending approval.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Generate a workflow from a plain-English request: spec, LangGraph program, tests, diagram.

    A FastAPI + SQLAlchemy service instead: flowwright generate backend --help (--model FILE).
    """
    from app.cli.main import _run

    words = list(request or [])
    if words[:1] == ["backend"]:
        _run(_backend, words[1:] + list(ctx.args), out=out, as_json=as_json)
        return
    unknown = [*ctx.args, *(w for w in words if w.startswith("--"))]
    if unknown:
        _run(_bad, f"unknown option(s): {' '.join(unknown)}", "See `flowwright generate --help`.")
        return
    _run(
        run_generate,
        " ".join(words),
        out=out, planner=planner, catalog=catalog, execute=execute, approve=approve,
        inputs=inputs or [], run_tests=not no_test, resume=resume, reject=reject, as_json=as_json,
    )  # fmt: skip


def graph() -> None:
    """Print the agent graph (planner, validator, tool_runner, generator) as Mermaid."""
    from agents.graph import mermaid

    sys.stdout.write(mermaid())


def _bad(message: str, hint: str) -> int:
    from app.errors import FlowwrightError

    raise FlowwrightError(message, hint=hint, code="BAD_ARGUMENTS")


def _backend(args: list[str], *, out: str | None, as_json: bool) -> int:
    """`generate backend ...` belongs to the backend target: hand it the arguments, if present."""
    if importlib.util.find_spec("app.cli.backend_cmd") is None:
        return _bad("the backend target is not available in this installation",
                    "Generate a workflow instead: flowwright generate \"REQUEST\".")  # fmt: skip
    from app.cli import backend_cmd  # type: ignore[attr-defined]

    sub = typer.Typer(add_completion=False)
    sub.command()(backend_cmd.generate_backend_command)
    argv = [*args, *(["--out", out] if out else []), *(["--json"] if as_json else [])]
    try:
        sub(args=argv, prog_name="flowwright generate backend")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (1 if done.code else 0)
    return 0


def parse_inputs(pairs: list[str]) -> dict[str, str]:
    given: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            _bad(f"--input expects name=value, got {pair!r}", "e.g. --input email=ada@example.com")
        given[name.strip()] = value
    return given


class _Progress:
    """Live node progress on stderr: ✓ done, ✗ failed, - nothing to do.

    The artifact-check summary of the validator is held back until the result is known, so its
    counts come from the real check list (skipped checks are not counted as passed).
    """

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(file=sys.stderr, highlight=False, soft_wrap=True)
        self.pending: dict[str, Any] | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        kind, node, detail = event.get("event"), event.get("node"), event.get("detail")
        if kind == "node_started":
            self.console.print(f"[cyan]…[/] {node}")
        elif kind == "node_finished":
            if node == "validator" and str(detail or "").startswith("artifact checks:"):
                self.pending = event
                return
            self._finished(event, str(detail or "done"), _node_mark(str(detail or "")))
        elif kind == "approval_requested":
            steps = ", ".join(s["step"] for s in (detail or {}).get("steps", []))
            self.console.print(
                f"[yellow]?[/] approval needed before the run (side effects: {steps})"
            )

    def finish(self, checks: list[Any]) -> None:
        """Print the held-back artifact-check line with the counts of `checks`."""
        event, self.pending = self.pending, None
        if event is None:
            return
        ran = [c for c in checks if not c.skipped]
        failed = [c.name for c in ran if not c.ok]
        detail = f"artifact checks: {len(ran) - len(failed)}/{len(ran)} passed"
        if failed:
            detail += f", failed: {', '.join(failed)}"
        skipped = [c.name for c in checks if c.skipped]
        if skipped:
            detail += f" ({', '.join(skipped)} skipped)"
        self._finished(event, detail, "[red]✗[/]" if failed or not checks else "[green]✓[/]")

    def _finished(self, event: dict[str, Any], detail: str, mark: str) -> None:
        ms = event.get("duration_ms") or 0
        self.console.print(f"{mark} {event.get('node')}: {detail} [dim]({ms:.0f} ms)[/]")


def _node_mark(detail: str) -> str:
    """The mark of a finished node from its detail: failed, nothing done, or done."""
    import re

    checks = re.match(r"artifact checks: (\d+)/(\d+)", detail)
    if (
        detail.startswith("failed")
        or "no usable plan" in detail
        or re.match(r"plan: [1-9]", detail)
        or re.search(r"\brun failed\b", detail)
        or (checks is not None and checks.group(1) != checks.group(2))
    ):
        return "[red]✗[/]"
    if detail.startswith("nothing to"):
        return "[dim]-[/]"
    return "[green]✓[/]"


def run_generate(
    request: str, *, out: str | None, planner: str, catalog: str | None, execute: bool,
    approve: bool, inputs: list[str], run_tests: bool, resume: str | None, reject: bool,
    as_json: bool,
) -> int:  # fmt: skip
    from app.observability.tracing import configure_langsmith, flush_traces

    configure_langsmith()  # redacting LangSmith client; a no-op unless LANGSMITH_TRACING=true
    try:
        return _generate(
            request, out=out, planner=planner, catalog=catalog, execute=execute,
            approve=approve, inputs=inputs, run_tests=run_tests, resume=resume, reject=reject,
            as_json=as_json,
        )  # fmt: skip
    finally:
        flush_traces()  # the process exits next: queued LangSmith runs would be lost


def _generate(
    request: str, *, out: str | None, planner: str, catalog: str | None, execute: bool,
    approve: bool, inputs: list[str], run_tests: bool, resume: str | None, reject: bool,
    as_json: bool,
) -> int:  # fmt: skip
    from agents.service import generate_workflow, resume_job

    on_event = None if as_json else _Progress()
    if resume:
        result = resume_job(resume, approved=not reject, on_event=on_event)
    else:
        if planner not in ("rules", "llm"):
            return _bad(f"unknown planner {planner!r}", "Use --planner rules or --planner llm.")
        result = generate_workflow(
            request, out_dir=out, planner=planner, catalog=catalog, execute=execute,
            approve=approve, inputs=parse_inputs(inputs), run_tests=run_tests, on_event=on_event,
        )  # fmt: skip
    if result.status == "waiting_approval" and not as_json and sys.stdin.isatty():
        if typer.confirm("Run the workflow with its side effects now?", default=False):
            result = resume_job(result.job_id, approved=True, on_event=on_event)
        else:
            result = resume_job(result.job_id, approved=False, on_event=on_event)
    if on_event is not None:
        on_event.finish(result.checks)
    _report(result, as_json)
    if result.status == "succeeded":
        return 0
    if result.status == "waiting_approval":
        return EXIT_WAITING
    code = (result.error or {}).get("code")
    return EXIT_INVALID if code in BAD_INPUT_CODES else EXIT_FAILED


def _report(result: Any, as_json: bool) -> None:

    from app.cli.render import err, out, print_json

    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    console = out()
    for diag in result.diagnostics:
        style = {"error": "red", "warning": "yellow"}.get(str(diag.severity), "cyan")
        where = f" {diag.path}" if diag.path else ""
        console.print(f"[{style}]{diag.severity}[{diag.code}][/]{where}: {diag.message}")
    if result.artifacts:
        console.print(f"[bold]artifacts[/] in {result.out_dir}:")
        for name in result.artifacts:
            console.print(f"  {name}")
    for check in result.checks:
        mark = "[dim]-[/]" if check.skipped else ("[green]✓[/]" if check.ok else "[red]✗[/]")
        console.print(f"  {mark} {check.name} [dim]({check.duration_ms:.0f} ms)[/] {check.detail}")
    if result.trace_id:
        console.print(f"[dim]trace: flowwright traces show {result.trace_id}[/]")
    if result.status == "succeeded":
        console.print(f"[green]generated[/] {result.spec.name if result.spec else ''} "
                      f"(job {result.job_id})")  # fmt: skip
    elif result.status == "waiting_approval":
        console.print(f"[yellow]waiting for approval[/]: flowwright generate --resume "
                      f"{result.job_id} (add --reject to refuse)")  # fmt: skip
    else:
        error = result.error or {}
        errc = err()
        errc.print(f"[red]error[{error.get('code', 'FAILED')}][/]: {error.get('message', '')}")
        closest = error.get("closest_tools")
        hint = str(error.get("hint") or "")
        if hint:
            errc.print(f"hint: {hint}")
        if closest:
            errc.print("closest tools: " + ", ".join(error["closest_tools"]))

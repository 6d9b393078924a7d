"""Loading spec text safely: limits, unsafe YAML, line-aware diagnostics and round trips."""

from __future__ import annotations

import io
import json
import pathlib
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.workflow.diagnostics import Diagnostic
from app.workflow.loader import MAX_DEPTH, LoadResult, load_spec_file, load_spec_text
from app.workflow.spec import WorkflowSpec

MINIMAL = 'flowwright: "1"\nname: t\nsteps:\n  - id: a\n    tool: echo\n'


def codes(result: LoadResult) -> list[str]:
    return [d.code for d in result.diagnostics]


def only(result: LoadResult, code: str) -> Diagnostic:
    assert codes(result) == [code], result.diagnostics
    assert result.spec is None
    return result.diagnostics[0]


def test_minimal_spec_loads() -> None:
    result = load_spec_text(MINIMAL, source="<text>")
    assert result.diagnostics == [] and result.ok
    assert result.spec is not None and result.spec.steps[0].tool == "echo"
    assert result.source == "<text>" and result.data["name"] == "t"


# -- size -----------------------------------------------------------------------------------------


def test_too_large_text_is_refused() -> None:
    diag = only(load_spec_text(MINIMAL, max_bytes=10), "SPEC_TOO_LARGE")
    assert "limit is 10" in diag.message and diag.hint


def test_fifty_megabyte_file_is_refused_fast_without_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.yaml"
    chunk = ("steps:\n" + "  - {id: a, tool: t}\n" * 50_000).encode()
    with big.open("wb") as handle:
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(chunk)

    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the loader opened a file that is over the limit")

    monkeypatch.setattr(pathlib.Path, "open", no_read)
    started = time.perf_counter()
    diag = only(load_spec_file(big), "SPEC_TOO_LARGE")
    assert time.perf_counter() - started < 0.5
    assert f"{big.stat().st_size:,} bytes" in diag.message  # the size, from stat()


def test_fifty_megabyte_text_is_refused_fast() -> None:
    started = time.perf_counter()
    only(load_spec_text("a" * 50_000_000), "SPEC_TOO_LARGE")
    only(load_spec_text(b"a" * 50_000_000), "SPEC_TOO_LARGE")
    assert time.perf_counter() - started < 0.5


class _CountingBytes(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.sizes: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.sizes.append(-1 if size is None else size)
        return super().read(size)


def test_stdin_read_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _CountingBytes(b"x" * 5_000_000)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(raw))
    only(load_spec_file("-", max_bytes=1000), "SPEC_TOO_LARGE")
    assert raw.sizes == [1001]


def test_stdin_spec_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MINIMAL.encode())))
    result = load_spec_file("-")
    assert result.ok and result.source == "<stdin>"


def test_unreadable_path_is_a_diagnostic(tmp_path: Path) -> None:
    assert codes(load_spec_file(tmp_path / "nope.yaml")) == ["SPEC_READ"]
    assert codes(load_spec_file(tmp_path)) == ["SPEC_READ"]


# -- parse errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fmt", "line", "column"),
    [
        ("flowwright: '1'\nname: t\nsteps: [\n  - id: a\n", "yaml", 4, 3),
        ("a: b\n  c: d\n", "yaml", 2, 4),
        ('{\n  "flowwright": "1",\n  "name": "t",,\n}', "json", 3, 15),
        ('{"a": NaN}', "json", None, None),
        ("---\na: 1\n---\nb: 2\n", "yaml", 3, 1),
        (MINIMAL + "name: again\n", "yaml", 6, 1),
        ('{"name": "t", "name": "u"}', "json", 1, 15),
    ],
    ids=["yaml-flow", "yaml-indent", "json-comma", "json-nan", "two-docs", "dup-key", "json-dup"],
)
def test_parse_errors_have_lines(text: str, fmt: str, line: int | None, column: int | None) -> None:
    result = load_spec_text(text, fmt=fmt)  # type: ignore[arg-type]
    diag = next(d for d in result.diagnostics if d.code == "SPEC_PARSE")
    assert (diag.line, diag.column) == (line, column), diag
    assert result.spec is None


def test_invalid_utf8_is_a_parse_error() -> None:
    only(load_spec_text(b"name: \xff\xfe"), "SPEC_PARSE")


# -- depth and unsafe YAML ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("[" * 100_000, "yaml"),
        ("[" * 100_000 + "]" * 100_000, "yaml"),
        ("[" * 100_000, "json"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "json"),
        ("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 200)), "yaml"),
        ("x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), None),
    ],
    ids=["yaml-open", "yaml-closed", "json-open", "json-objects", "yaml-block", "sniffed"],
)
def test_deep_nesting_is_refused_without_recursion(text: str, fmt: str | None) -> None:
    started = time.perf_counter()
    only(load_spec_text(text, fmt=fmt, max_bytes=10_000_000), "SPEC_TOO_DEEP")  # type: ignore[arg-type]
    assert time.perf_counter() - started < 2


def test_nesting_at_the_limit_is_fine() -> None:
    deep = "[" * (MAX_DEPTH - 5) + "]" * (MAX_DEPTH - 5)
    result = load_spec_text(MINIMAL + f"outputs: {{x: {deep}}}\n")
    assert result.ok, result.diagnostics


BILLION_LAUGHS = textwrap.dedent(
    """\
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    """
)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (BILLION_LAUGHS, 1),
        ("!!python/object/apply:os.system ['touch /tmp/flowwright-pwned']\n", 1),
        (MINIMAL + "outputs: {x: !!python/object/apply:os.system [echo]}\n", 6),
        (MINIMAL + "outputs: {x: !!python/name:os.system }\n", 6),
        (MINIMAL + "outputs: {x: !custom 1}\n", 6),
        (MINIMAL + "outputs: {x: !!binary aGVsbG8=}\n", 6),
        ("base: &base {tool: t}\n" + MINIMAL, 1),
        (MINIMAL + "outputs:\n  <<: *x\n", 7),
    ],
    ids=["laughs", "os-system", "nested", "python-name", "custom", "binary", "anchor", "merge"],
)
def test_unsafe_yaml_is_refused(text: str, line: int) -> None:
    started = time.perf_counter()
    diag = only(load_spec_text(text), "SPEC_UNSAFE_YAML")
    assert diag.line == line
    assert time.perf_counter() - started < 1
    assert not Path("/tmp/flowwright-pwned").exists()


def test_standard_tags_are_allowed() -> None:
    result = load_spec_text(MINIMAL + "outputs: {x: !!str 12, y: !!int '3'}\n")
    assert result.ok and result.spec is not None
    assert result.spec.outputs == {"x": "12", "y": 3}


# -- document shape, version and schema -----------------------------------------------------------


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "", "# only a comment\n", "[]"])
def test_not_a_mapping(text: str) -> None:
    only(load_spec_text(text), "SPEC_NOT_MAPPING")


def test_version_integer_one_is_accepted() -> None:
    result = load_spec_text(MINIMAL.replace('"1"', "1"))
    assert result.ok and result.spec is not None and result.spec.flowwright == "1"


@pytest.mark.parametrize("version", ["2", "'2'", "1.0", "true", "'v1'"])
def test_other_versions_are_refused_with_a_hint(version: str) -> None:
    diag = only(load_spec_text(MINIMAL.replace('"1"', version)), "SPEC_VERSION")
    assert (diag.path, diag.line) == ("/flowwright", 1)
    assert diag.hint and 'flowwright: "1"' in diag.hint


def test_missing_version_is_reported_with_the_other_schema_errors() -> None:
    result = load_spec_text("name: t\nsteps:\n  - {id: a, tool: t, tol: x}\n")
    assert codes(result) == ["SPEC_VERSION", "SPEC_SCHEMA"]
    assert result.spec is None


def test_schema_errors_are_readable_and_located() -> None:
    text = textwrap.dedent(
        """\
        flowwright: "1"
        name: t
        inputs:
          email: {type: str}
        steps:
          - id: check-email
            tool: validate_email
            tol: x
            when: [1, 2]
            on_error: stop
            retry: {max_attempts: 0}
            params:
              on: yes
          - id: b
        """
    )
    result = load_spec_text(text)
    found = {d.path: d for d in result.diagnostics}
    assert all(d.code == "SPEC_SCHEMA" for d in result.diagnostics)
    assert found["/steps/0/tol"].message == "extra field 'tol' is not allowed"
    assert found["/steps/0/tol"].hint == "Did you mean 'tool'?"
    assert found["/steps/0/tol"].line == 8
    assert "expected a string or a boolean, got a list" in found["/steps/0/when"].message
    assert found["/steps/0/when"].line == 9
    assert "not a valid identifier" in found["/steps/0/id"].message
    assert found["/inputs/email/type"].hint == "Did you mean 'string'?"
    assert "'fail' or 'continue'" in found["/steps/0/on_error"].message
    assert found["/steps/0/retry/max_attempts"].line == 11
    assert "missing required field 'tool'" in found["/steps/1/tool"].message
    assert found["/steps/1/tool"].line == 14  # located at the step that lacks it
    key = found["/steps/0/params/True"]
    assert "not a string" in key.message and key.hint and "Quote" in key.hint
    assert key.line == 12
    assert result.spec is None and result.data is not None


def test_extra_top_level_field_lists_allowed_fields() -> None:
    diag = only(load_spec_text(MINIMAL + "zzz: 1\n"), "SPEC_SCHEMA")
    assert diag.path == "/zzz" and diag.hint and "steps" in diag.hint


# -- formats and positions ------------------------------------------------------------------------


def test_format_from_extension_and_sniffing(tmp_path: Path) -> None:
    spec = load_spec_text(MINIMAL).spec
    assert spec is not None
    as_json = tmp_path / "wf.json"
    as_json.write_text(spec.to_json())
    as_yml = tmp_path / "wf.yml"
    as_yml.write_text(spec.to_yaml())
    other = tmp_path / "wf.txt"
    other.write_text(spec.to_json(indent=None))
    for path in (as_json, as_yml, other):
        assert load_spec_file(path).spec == spec, path
    assert codes(load_spec_text(spec.to_yaml(), fmt="json")) == ["SPEC_PARSE"]
    flow = '{flowwright: "1", name: t, steps: [{id: a, tool: echo}]}'
    assert load_spec_text(flow).spec == spec  # sniffed as JSON, read as a YAML flow mapping


def test_dates_stay_text() -> None:
    result = load_spec_text(MINIMAL + "outputs: {day: 2024-01-31}\n")
    assert result.spec is not None and result.spec.outputs == {"day": "2024-01-31"}


def test_locate_exact_and_nearest_ancestor() -> None:
    result = load_spec_text(MINIMAL + "    params:\n      text: hi\n")
    assert result.locate("/steps/0/params/text") == (7, 7)
    assert result.locate("/steps/0/tool") == (5, 5)
    assert result.locate("/steps/0/params/missing") == (6, 5)
    assert result.locate("/nope/deeper") == (1, 1)
    assert result.locate("") == (1, 1)


def test_json_positions() -> None:
    text = json.dumps({"flowwright": "1", "name": "t", "steps": [{"id": "a", "tool": "x"}]},
                      indent=2)  # fmt: skip
    result = load_spec_text(text)
    line, _ = result.locate("/steps/0/tool") or (0, 0)
    assert '"tool": "x"' in text.splitlines()[line - 1]


# -- round trips ----------------------------------------------------------------------------------

ROUND_TRIP_SPECS = [
    MINIMAL,
    textwrap.dedent(
        """\
        flowwright: "1"
        name: Lead intake v2.0
        description: |
          Two lines
          of description: with a colon.
        inputs:
          email: {type: string, description: Lead email, example: ada@example.com}
          count: {type: integer, required: false, default: 3}
          tags: {type: array, default: [a, b]}
          extra: {type: any, example: {nested: [1, 2.5, null, true]}}
        steps:
          - id: check
            tool: validate_email
            params: {email: "{{ inputs.email }}", strict: false}
          - id: store
            tool: write_csv
            when: "{{ steps.check.output.valid }}"
            for_each: ["a", "yes", "no", "null", "1", "2024-01-01", "~", ""]
            concurrency: 2
            depends_on: [check]
            params:
              path: "leads.csv"
              rows: ["{{ inputs }}", {"on": "off", "y": "n"}]
              note: "ünïcødé ✓ and 'quotes' and \\"double\\" # not a comment"
              big: 12345678901234567890
              ratio: 0.1
            retry: {max_attempts: 3, backoff_s: 0.5, jitter: false}
            timeout_s: 30
            on_error: continue
            approval: true
        outputs:
          valid: "{{ steps.check.output.valid }}"
          literal: [1, {a: null}]
        """
    ),
]


def _example_specs() -> list[str]:
    examples = Path(__file__).parents[1] / "examples"
    return [p.read_text() for p in sorted(examples.glob("*.yaml"))] if examples.is_dir() else []


@pytest.mark.parametrize("text", ROUND_TRIP_SPECS + _example_specs())
def test_round_trip_yaml_and_json(text: str) -> None:
    spec = load_spec_text(text).spec
    assert spec is not None, load_spec_text(text).diagnostics
    yaml_text = spec.to_yaml()
    assert load_spec_text(yaml_text).spec == spec
    assert load_spec_text(spec.to_json(), fmt="json").spec == spec
    assert load_spec_text(spec.to_json(indent=None)).spec == spec
    again = load_spec_text(yaml_text).spec
    assert again is not None and again.to_yaml() == yaml_text  # dump(load(dump(x))) == dump(x)
    assert WorkflowSpec.model_validate(json.loads(spec.to_json())) == spec

"""Backend data model: schema, validator diagnostics, BackBone-AI conversion, ordering, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.backend.backbone import convert, is_backbone
from app.backend.model import model_json_schema
from app.backend.ordering import create_order
from app.backend.service import generate_backend
from app.backend.validator import load_model_file, load_model_text, validate_data
from app.cli.main import app as cli

ROOT = Path(__file__).resolve().parents[1]
BACKBONE = ROOT.parent / "shared" / "examples" / "backbone"
needs_backbone = pytest.mark.skipif(not BACKBONE.is_dir(), reason="../shared is absent")


def _model(**entity_overrides: object) -> dict:
    return {
        "name": "shop",
        "entities": [
            {
                "name": "User",
                "fields": [
                    {"name": "id", "type": "integer", "primary_key": True},
                    {"name": "email", "type": "string", "unique": True},
                ],
            },
            {
                "name": "Order",
                "fields": [
                    {"name": "id", "type": "integer", "primary_key": True},
                    {"name": "user_id", "type": "integer", "references": "User.id"},
                ],
                "relations": [{"name": "user", "kind": "many_to_one", "target": "User"}],
                **entity_overrides,
            },
        ],
    }


def codes(data: object) -> list[str]:
    return [d.code for d in validate_data(data).diagnostics if d.is_error]


def test_valid_model_has_no_diagnostics() -> None:
    report = validate_data(_model())
    assert report.ok and report.diagnostics == []


def test_json_schema_exports_every_field_type() -> None:
    schema = model_json_schema()
    types = schema["$defs"]["FieldType"]["enum"]
    assert set(types) == {
        "string",
        "text",
        "integer",
        "bigint",
        "float",
        "decimal",
        "boolean",
        "date",
        "datetime",
        "time",
        "uuid",
        "json",
        "enum",
    }
    assert "entities" in schema["required"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        (
            [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "class", "type": "string"},
            ],
            "MODEL_RESERVED",
        ),
        (
            [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "select", "type": "string"},
            ],
            "MODEL_RESERVED",
        ),
        (
            [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "BadName", "type": "string"},
            ],
            "MODEL_IDENTIFIER",
        ),
        (
            [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "x", "type": "string"},
                {"name": "x", "type": "text"},
            ],
            "MODEL_DUPLICATE",
        ),
        ([{"name": "name", "type": "string"}], "MODEL_PRIMARY_KEY"),
        (
            [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "state", "type": "enum"},
            ],
            "MODEL_ENUM",
        ),
        (
            [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "state", "type": "enum", "values": ["a"], "default": "b"},
            ],
            "MODEL_DEFAULT",
        ),
        (
            [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "p", "type": "decimal", "precision": 4, "scale": 6},
            ],
            "MODEL_FIELD_OPTION",
        ),
        (
            [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "s", "type": "string", "length": 0},
            ],
            "MODEL_LIMIT",
        ),
        (
            [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "u_id", "type": "integer", "references": "Usr.id"},
            ],
            "MODEL_FOREIGN_KEY",
        ),
        (
            [
                {"name": "id", "type": "integer", "primary_key": True},
                {"name": "u_id", "type": "string", "references": "User.id"},
            ],
            "MODEL_FK_TYPE",
        ),
    ],
)
def test_field_diagnostics(fields: list, code: str) -> None:
    data = _model()
    data["entities"][1] = {"name": "Thing", "fields": fields}
    assert code in codes(data)


def test_relation_pair_must_point_back() -> None:
    data = _model(
        relations=[
            {"name": "user", "kind": "many_to_one", "target": "User", "back_populates": "orders"}
        ]
    )
    assert "MODEL_RELATION_PAIR" in codes(data)
    data["entities"][0]["relations"] = [
        {"name": "orders", "kind": "many_to_many", "target": "Order", "back_populates": "user"}
    ]
    assert "MODEL_RELATION_PAIR" in codes(data)  # kinds are not complementary
    data["entities"][0]["relations"][0]["kind"] = "one_to_many"
    assert validate_data(data).ok


def test_relation_needs_a_foreign_key() -> None:
    data = _model()
    data["entities"][1]["fields"].pop()
    diags = validate_data(data).diagnostics
    assert [d.code for d in diags] == ["MODEL_RELATION_FK"]
    assert "user_id" in (diags[0].hint or "")


def test_required_fk_cycle_is_an_error_and_nullable_cycle_is_deferred() -> None:
    data = _model()
    data["entities"][0]["fields"].append(
        {"name": "last_order_id", "type": "integer", "references": "Order.id", "nullable": False}
    )
    data["entities"][1]["fields"][1]["nullable"] = False
    assert "MODEL_FK_CYCLE" in codes(data)
    data["entities"][0]["fields"][-1]["nullable"] = True
    report = validate_data(data)
    assert report.ok
    order = create_order(report.model)
    assert order.entities == ["User", "Order"] and order.deferred == {("User", "last_order_id")}


def test_limits_and_unknown_keys_with_did_you_mean() -> None:
    data = _model()
    data["limits"] = {"max_entities": 1}
    assert "MODEL_LIMIT" in codes(data)
    data = _model()
    data["entities"][0]["fields"][1]["uniq"] = True
    diag = next(d for d in validate_data(data).diagnostics if d.code == "MODEL_SCHEMA")
    assert diag.path == "/entities/0/fields/1/uniq" and "unique" in (diag.hint or "")


def test_diagnostics_carry_yaml_lines() -> None:
    text = (
        "name: shop\nentities:\n  - name: Order\n    fields:\n"
        "      - {name: id, type: integer, primary_key: true}\n"
        "      - {name: user_id, type: integer, references: Usr.id}\n"
    )
    report = load_model_text(text, source="m.yaml")
    (diag,) = report.diagnostics
    assert (diag.code, diag.line, diag.path) == (
        "MODEL_FOREIGN_KEY",
        6,
        "/entities/0/fields/1/references",
    )
    assert "anchors" in load_model_text("a: &x 1\nb: *x\n").diagnostics[0].message


@needs_backbone
@pytest.mark.parametrize(
    "name", ["blog_schema", "complex_schema", "ecommerce_schema", "simple_schema"]
)
def test_backbone_examples_convert_and_validate(name: str) -> None:
    report = load_model_file(BACKBONE / f"{name}.json")
    assert report.ok, [d.message for d in report.diagnostics]
    assert report.converted_from == "backbone"
    for entity in report.model.entities:
        pk = next(f for f in entity.fields if f.primary_key)
        assert pk.is_nullable is False  # a primary key implies not-null


@needs_backbone
def test_backbone_relation_names_come_from_the_other_side() -> None:
    data = json.loads((BACKBONE / "complex_schema.json").read_text())
    assert is_backbone(data)
    model, pointers = convert(data)
    product = next(e for e in model["entities"] if e["name"] == "Product")
    seller = next(r for r in product["relations"] if r["target"] == "User")
    assert (seller["name"], seller["back_populates"], seller["kind"]) == (
        "seller",
        "products",
        "many_to_one",
    )
    assert next(f for f in product["fields"] if f["name"] == "seller_id")["references"] == "User.id"
    assert pointers["/entities/1/fields/5"] == "/schema/1/columns/5"


@needs_backbone
def test_backbone_diagnostics_point_into_the_source(tmp_path: Path) -> None:
    data = json.loads((BACKBONE / "blog_schema.json").read_text())
    data["schema"][1]["columns"][5]["target"] = "authors.id"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, indent=2))
    report = load_model_file(path)
    diag = next(d for d in report.diagnostics if d.code == "MODEL_FOREIGN_KEY")
    assert diag.path.startswith("/schema/1/columns/5") and diag.line


def test_cli_model_validate_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    good = ROOT / "examples" / "models" / "blog_m2m.yaml"
    result = runner.invoke(cli, ["model", "validate", str(good)])
    assert result.exit_code == 0 and "valid" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nentities:\n  - name: T\n    fields:\n      - {name: id, type: integer, primary_key: true}\n      - {name: from, type: string}\n"
    )
    result = runner.invoke(cli, ["model", "validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:6:" in result.output and "error[MODEL_RESERVED]" in result.output
    result = runner.invoke(cli, ["model", "validate", str(bad), "--json"])
    assert result.exit_code == 2 and json.loads(result.output)["diagnostics"][0]["line"] == 6


def test_invalid_model_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "svc"
    data = _model()
    data["entities"][1]["fields"][1]["references"] = "Nope.id"
    result = generate_backend(data, out, run_checks=False)
    assert not result.ok and result.diagnostics and not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_generation_is_atomic_and_refuses_to_clobber(tmp_path: Path) -> None:
    out = tmp_path / "svc"
    first = generate_backend(_model(), out, run_checks=False)
    assert first.ok and (out / "shop" / "models.py").exists()
    assert "tests/test_orders.py" in first.files
    from app.backend.render import RenderError

    with pytest.raises(RenderError):
        generate_backend(_model(), out, run_checks=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["svc"]  # no temp dirs left behind


def test_model_strings_are_escaped_in_generated_code(tmp_path: Path) -> None:
    data = _model()
    data["description"] = 'evil """ \\ \n import os; os.system("x")'
    data["entities"][0]["fields"][1]["description"] = 'it\'s "quoted" \\ and\nnewline'
    data["entities"][0]["fields"].append(
        {"name": "kind", "type": "enum", "values": ["a'b", 'c"d', "e\\f"], "default": "a'b"}
    )
    result = generate_backend(data, tmp_path / "svc", run_checks=False)
    assert result.ok
    for path in (tmp_path / "svc").rglob("*.py"):
        compile(path.read_text(), str(path), "exec")  # every literal stayed a literal
    models = (tmp_path / "svc" / "shop" / "models.py").read_text()
    assert "import os; os.system" not in models.replace("\\n", "")


def test_generate_backend_command_is_wireable(tmp_path: Path) -> None:
    import typer

    from app.cli.backend_cmd import generate_backend_command

    host = typer.Typer()
    host.command()(generate_backend_command)
    host.command("noop")(lambda: None)  # a group, as `generate` will be
    runner = CliRunner()
    out = tmp_path / "blog"
    result = runner.invoke(
        host,
        [
            "generate-backend-command",
            "a blog where users write posts",
            "--out",
            str(out),
            "--no-checks",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["package"] == "blog_api" and (out / "blog_api").is_dir()
    result = runner.invoke(host, ["generate-backend-command", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2


def test_missing_model_file_is_model_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["model", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "MODEL_READ" in result.stdout + result.stderr


def test_every_model_code_is_documented() -> None:
    import re

    codes = {
        code
        for path in (ROOT / "app" / "backend").glob("*.py")
        for code in re.findall(r"[\"'](MODEL_[A-Z_]+)[\"']", path.read_text(encoding="utf-8"))
    }
    assert {"MODEL_READ", "MODEL_PARSE", "MODEL_NOT_MAPPING"} <= codes
    docs = (ROOT / "docs" / "backend.md").read_text(encoding="utf-8")
    assert sorted(c for c in codes if f"`{c}`" not in docs) == []

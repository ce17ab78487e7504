"""``implants list`` and ``implants show`` (layer: cli): the implant types, their presets and
parameters, from the registry alone (no CAD kernel)."""

from __future__ import annotations

import typer

from ..registry import get, parameter_rows, templates
from .output import console, emit_json, new_table


def list_types(as_json: bool = typer.Option(False, "--json", help="Output JSON.")) -> None:
    """List the implant types and their presets."""
    rows = [{"type": t.type_id, "title": t.title, "review": t.review_wording, "default_preset": t.default_preset,
             "presets": list(t.presets)} for t in templates()]
    if as_json:
        emit_json(rows)
        return
    table = new_table("Implant types", ("type", "title", "presets (default first)"))
    for row in rows:
        presets = [row["default_preset"]] + [p for p in row["presets"] if p != row["default_preset"]]
        table.add_row(row["type"], row["title"], ", ".join(presets))
    console.print(table)


def show(type_id: str = typer.Argument(..., metavar="TYPE", help="Implant type id (see `implants list`)."),
         as_json: bool = typer.Option(False, "--json", help="Output the JSON Schema and presets.")) -> None:
    """Show a type's parameters (unit, default, range, description) and presets."""
    template = get(type_id)
    if as_json:
        emit_json({"type": template.type_id, "title": template.title, "description": template.description,
                   "schema": template.params.model_json_schema(), "presets": dict(template.presets),
                   "default_preset": template.default_preset})
        return
    console.print(f"[bold]{template.title}[/bold] ({template.type_id}): {template.description}")
    columns = ("name", "unit", "default", "range", "description")
    table = new_table(f"Parameters of {type_id}", columns)
    for row in parameter_rows(type_id):
        table.add_row(*(str(row[k]) for k in columns))
    console.print(table)
    console.print("Presets: " + ", ".join(template.presets) + f" (default {template.default_preset})")

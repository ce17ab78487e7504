"""Generate the per-type documentation pages, the CLI reference and the pictures of docs/.

    .venv/bin/python docs/gen_pages.py              # markdown + pictures (builds every type: ~1-2 min)
    .venv/bin/python docs/gen_pages.py --no-render  # markdown only, from the registry (no CAD kernel)
    .venv/bin/python docs/gen_pages.py --types interbody-cage,monolithic
    .venv/bin/python docs/gen_pages.py --sheets-only  # scenes.png and demonstrators.png only

The generated markdown (docs/types/*.md, docs/cli.md) and the pictures (docs/images/*.png) are
committed, so ``mkdocs build --strict`` needs neither the CAD kernel nor VTK. The named features of
each default build are cached in docs/types/features.json so that ``--no-render`` can rewrite the
pages (parameter tables, presets, review text) without building anything.

Pictures: ``<type>.png`` (isometric view, contact faces and screw/guide axes highlighted),
``<type>_scene.png`` (in-situ scene in the view its rule names, for the types with a scene rule in implants.render.scenes),
``gallery.png`` (a 4 × 2 grid of the eight type pictures), and the contact sheets ``scenes.png`` (the
eight in-situ scenes on real vertebrae) and ``demonstrators.png`` (the eight assembled printable
demonstrators), grids drawn by implants.render.sheets. PNGs are reduced to a
256-colour palette to stay small (~30-90 KB each).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
IMAGES = DOCS / "images"
TYPES = DOCS / "types"
FEATURES_JSON = TYPES / "features.json"
#: The review's full text (references list); outside the repository, optional.
REVIEW = ROOT.parent / "shared" / "reference" / "systematic-review-patient-specific-spine-implants.txt"
REFERENCES_JSON = TYPES / "references.json"
PICTURE_SIZE = (640, 480)


# ----------------------------------------------------------------------------- references


def parse_references(text: str) -> dict[int, str]:
    """Numbered references of the review: the first ones are a bullet list (numbered in order),
    the later ones are ``N. **Authors.** Title...``."""
    refs: dict[int, str] = {}
    section = text.split("## References", 1)[-1]
    number = 0
    for line in section.splitlines():
        line = line.strip()
        bullet = re.match(r"^- (.+)$", line)
        numbered = re.match(r"^(\d+)\.\s+(.+)$", line)
        if numbered:
            number = int(numbered.group(1))
            refs[number] = numbered.group(2).replace("**", "")
        elif bullet:
            number += 1
            refs[number] = bullet.group(1)
        elif line.startswith("Received"):
            break
    return refs


def cited_numbers(wording: str) -> list[int]:
    """``"... [8,10,18,21–25]"`` → [8, 10, 18, 21, 22, 23, 24, 25]."""
    numbers: list[int] = []
    for group in re.findall(r"\[([\d,\s–-]+)\]", wording):
        for part in group.split(","):
            part = part.strip()
            if not part:
                continue
            bounds = re.split(r"[–-]", part)
            if len(bounds) == 2:
                numbers.extend(range(int(bounds[0]), int(bounds[1]) + 1))
            else:
                numbers.append(int(bounds[0]))
    return sorted(set(numbers))


def load_references() -> dict[int, str]:
    if REVIEW.is_file():
        refs = parse_references(REVIEW.read_text(encoding="utf-8"))
        REFERENCES_JSON.write_text(json.dumps({str(k): v for k, v in sorted(refs.items())}, indent=1,
                                              ensure_ascii=False) + "\n", encoding="utf-8")
        return refs
    if REFERENCES_JSON.is_file():
        return {int(k): v for k, v in json.loads(REFERENCES_JSON.read_text(encoding="utf-8")).items()}
    return {}


# ----------------------------------------------------------------------------- pictures


#: Largest picture the docs carry (bytes); tests/test_docs.py holds the same budget.
MAX_PNG_BYTES = 150 * 1024


def shrink_png(path: Path) -> int:
    """Reduce a PNG to a palette image (visually the same for flat-shaded renders) of the most
    colours, from 256 down to 64, that keeps it within MAX_PNG_BYTES; its size in bytes."""
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
    for colours in (256, 192, 128, 96, 64):
        rgb.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            path, optimize=True)
        if path.stat().st_size <= MAX_PNG_BYTES:
            break
    return path.stat().st_size


def render_type(type_id: str) -> dict:
    """Build the default preset, write ``<type>.png`` (and ``<type>_scene.png`` when a scene rule
    exists); return the named features and the timings."""
    import implants
    from implants.render import pictures, scenes

    start = time.perf_counter()
    implant = implants.build(type_id)
    built = time.perf_counter() - start
    target = IMAGES / f"{type_id}.png"
    pictures.render_implant(implant, target, view="iso", highlight=True, size=PICTURE_SIZE)
    sizes = {target.name: shrink_png(target)}
    scene_note = ""
    layout, has_rule, items, axes, bones = scenes.scene_items(implant, highlight=True)
    if has_rule:
        scene_png = IMAGES / f"{type_id}_scene.png"
        title = f"{type_id} in situ" + (f" ({layout.figure})" if layout.figure else "")
        pictures.render_items(bones + items, scene_png, view=layout.view, axes=axes, size=PICTURE_SIZE, title=title)
        sizes[scene_png.name] = shrink_png(scene_png)
    else:
        (IMAGES / f"{type_id}_scene.png").unlink(missing_ok=True)
        scene_note = layout.note
    features = []
    for name, feature in sorted(implant.features.items()):
        row = {"name": name, "kind": feature.kind}
        if feature.diameter_mm:
            row["diameter_mm"] = round(float(feature.diameter_mm), 2)
        if feature.kind == "surface":
            row["faces"] = len(feature.faces or ())
        features.append(row)
    metrics = {k: (round(float(v), 3) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
               for k, v in sorted(implant.metrics.items()) if isinstance(v, (int, float, str, bool))}
    return {"features": features, "metrics": metrics, "bodies": implant.bodies, "scene": has_rule,
            "scene_figure": layout.figure, "scene_note": scene_note, "build_s": round(built, 2),
            "total_s": round(time.perf_counter() - start, 2), "png_bytes": sizes}


def gallery_png(type_ids: list[str]) -> int:
    """``gallery.png``: the eight type pictures on a 4 × 2 grid, titled with the type ids."""
    from implants.render.sheets import SheetCell, contact_sheet

    cells = [SheetCell(IMAGES / f"{t}.png", t) for t in type_ids if (IMAGES / f"{t}.png").is_file()]
    target = contact_sheet(cells, IMAGES / "gallery.png",
                           "The eight implant types of spine-implants (default presets; not a medical device)")
    return shrink_png(target)


def contact_sheets(type_ids: list[str]) -> dict[str, int]:
    """``scenes.png`` (the eight in-situ scenes, as ``implants render TYPE --scene`` draws them) and
    ``demonstrators.png`` (the eight assembled printable demonstrators); their sizes in bytes."""
    from implants.demonstrator.pictures import demonstrator_sheet
    from implants.render.sheets import scene_sheet

    sizes = {}
    for name, make in (("scenes.png", scene_sheet), ("demonstrators.png", demonstrator_sheet)):
        start = time.perf_counter()
        sizes[name] = shrink_png(make(type_ids, IMAGES / name))
        print(f"{name}: {time.perf_counter() - start:.0f} s, {sizes[name] / 1024:.0f} KB", flush=True)
    return sizes


# ----------------------------------------------------------------------------- markdown


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def type_page(template, features: dict | None, refs: dict[int, str]) -> str:
    from implants.registry import parameter_rows

    t = template
    lines = [f"# {t.title}", "",
             f"**Type id:** `{t.type_id}` · **Review wording:** {t.review_wording}", "",
             "!!! warning \"Not a medical device\"",
             "    Illustrative model for teaching, printed demonstrators and design exploration only.", ""]
    lines += [f"![{t.title} ({t.type_id}), default preset, isometric view with contact faces and screw/guide "
              f"axes highlighted](../images/{t.type_id}.png)", ""]
    lines += ["## What it is", "", t.description, ""]
    if features and features.get("scene"):
        figure = features.get("scene_figure") or ""
        lines += ["## In situ", "",
                  f"![{t.type_id} in place on its vertebrae{f' (review {figure})' if figure else ''}]"
                  f"(../images/{t.type_id}_scene.png)", "",
                  f"The default preset in place on the packaged real (or generated) bones it fits"
                  f"{f', as in the review’s {figure}' if figure else ''}.", ""]
    elif features is not None:
        lines += ["## In situ", "", "No in-situ scene rule for this type yet (`implants render "
                  f"{t.type_id} --scene` shows the implant alone).", ""]
    lines += ["## Build it", "", "```bash", f"implants build {t.type_id} --out out/",
              f"implants show {t.type_id}          # this table in the terminal", "```", "",
              "```python", "import implants", "",
              f'implant = implants.build("{t.type_id}", preset="{t.default_preset}")',
              'implants.export(implant, "out/")', "```", ""]
    lines += ["## Parameters", "",
              "Generated from the parameter model (`implants.registry.parameter_rows`). Defaults are the model's "
              "defaults; a preset overrides some of them.", "",
              "| name | unit | default | range | description |", "|---|---|---|---|---|"]
    for row in parameter_rows(t.type_id):
        lines.append("| " + " | ".join(_cell(row[k]) if k != "name" else f"`{row[k]}`"
                                        for k in ("name", "unit", "default", "range", "description")) + " |")
    lines += ["", "## Presets", "", f"Default: `{t.default_preset}`.", "",
              "| preset | overrides |", "|---|---|"]
    for name, overrides in t.presets.items():
        shown = ", ".join(f"`{k}={v}`" for k, v in overrides.items()) or "(the model defaults)"
        lines.append(f"| `{name}` | {_cell(shown)} |")
    lines.append("")
    if features:
        lines += ["## Named features", "",
                  f"Of the default preset (`{t.default_preset}`, {features['bodies']} "
                  f"bod{'y' if features['bodies'] == 1 else 'ies'}). Surface features carry B-rep faces of the "
                  "final shape; channel features an entry point, a unit direction into bone and a diameter.", "",
                  "| feature | kind | detail |", "|---|---|---|"]
        for f in features["features"]:
            detail = (f"⌀ {f['diameter_mm']} mm" if "diameter_mm" in f
                      else f"{f['faces']} face(s)" if "faces" in f else "")
            lines.append(f"| `{f['name']}` | {f['kind']} | {detail} |")
        lines.append("")
    numbers = cited_numbers(t.review_wording)
    if numbers:
        lines += ["## References", "",
                  "Cited by the review (Kosulin et al., 2026) for this type; numbers are the review's.", ""]
        for n in numbers:
            lines.append(f"- [{n}] {refs.get(n, '(see the review)')}")
        lines.append("")
    return "\n".join(lines)


def types_index(templates, features: dict) -> str:
    lines = ["# Implant types", "",
             "The eight types of patient-specific spinal implants of the review, in its order. Each page is "
             "generated from the registry by `docs/gen_pages.py`.", "",
             "![The eight types](../images/gallery.png)", "",
             "| type id | implant | presets | review |", "|---|---|---|---|"]
    for t in templates:
        lines.append(f"| [`{t.type_id}`]({t.type_id}.md) | {_cell(t.title)} | {len(t.presets)} | "
                     f"{_cell(t.review_wording)} |")
    return "\n".join(lines) + "\n"


def cli_page() -> str:
    """The CLI reference from the typer app (commands, arguments, options) and the exit codes."""
    import click
    import typer

    from implants.cli import app
    from implants.errors import EXIT_CODES

    group = typer.main.get_command(app)
    ctx = click.Context(group, info_name="implants")
    lines = ["# Command line", "", "Generated from the `implants` typer app by `docs/gen_pages.py`.", "",
             "Every verb prints a rich table, or JSON with `--json` where offered. User errors are one line on "
             "stderr (no traceback) with the exit code below.", "",
             "## Exit codes", "", "| exit | meaning |", "|---|---|", "| 0 | success |",
             "| 2 | usage error (unknown command or option) |"]
    for code, meaning in sorted(EXIT_CODES.items()):
        if code not in (0, 2):
            lines.append(f"| {code} | {_cell(meaning)} |")
    lines += ["", "## Commands", ""]
    commands = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if hasattr(command, "list_commands"):  # a verb with sub-verbs (implants anatomy list / export)
            sub = click.Context(command, info_name=name)
            commands += [(f"{name} {s}", command.get_command(sub, s)) for s in command.list_commands(sub)]
        else:
            commands.append((name, command))
    for name, command in commands:
        usage = " ".join(command.collect_usage_pieces(click.Context(command, info_name=name)))
        usage = usage.replace("{", "").replace("}", "")
        lines += [f"### `implants {name}`", "", (command.help or "").strip().split("\n\n")[0], "",
                  "```text", f"implants {name} {usage}", "```", "",
                  "| argument / option | help | default |", "|---|---|---|"]
        for param in command.params:
            if isinstance(param, click.Argument):
                label = f"`{param.metavar or param.name.upper()}`"
                help_text = getattr(param, "help", "") or ""
            else:
                label = " / ".join(f"`{o}`" for o in (*param.opts, *param.secondary_opts))
                help_text = param.help or ""
            default = param.default
            shown = "" if default in (None, (), [], False) or param.required else f"`{default}`"
            lines.append(f"| {label} | {_cell(help_text)} | {_cell(shown)} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-render", action="store_true", help="markdown only (no CAD kernel, no VTK)")
    parser.add_argument("--types", help="comma-separated type ids to (re)render (default: all)")
    parser.add_argument("--sheets-only", action="store_true",
                        help="only the contact sheets scenes.png and demonstrators.png (~2 min)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT / "src"))
    import implants

    IMAGES.mkdir(parents=True, exist_ok=True)
    TYPES.mkdir(parents=True, exist_ok=True)
    cached = json.loads(FEATURES_JSON.read_text(encoding="utf-8")) if FEATURES_JSON.is_file() else {}
    templates = implants.templates()
    if args.sheets_only:
        contact_sheets([t.type_id for t in templates])
        return 0
    if not args.no_render:
        chosen = args.types.split(",") if args.types else [t.type_id for t in templates]
        for type_id in chosen:
            info = render_type(type_id)
            cached[type_id] = info
            print(f"{type_id}: build {info['build_s']} s, build+render {info['total_s']} s, "
                  f"{', '.join(f'{k} {v / 1024:.0f} KB' for k, v in info['png_bytes'].items())}", flush=True)
        size = gallery_png([t.type_id for t in templates])
        print(f"gallery.png {size / 1024:.0f} KB")
        contact_sheets([t.type_id for t in templates])
        FEATURES_JSON.write_text(json.dumps({t.type_id: cached[t.type_id] for t in templates if t.type_id in cached},
                                            indent=1) + "\n", encoding="utf-8")
    refs = load_references()
    for t in templates:
        (TYPES / f"{t.type_id}.md").write_text(type_page(t, cached.get(t.type_id), refs), encoding="utf-8")
    (TYPES / "index.md").write_text(types_index(templates, cached), encoding="utf-8")
    (DOCS / "cli.md").write_text(cli_page(), encoding="utf-8")
    print(f"wrote {len(templates)} type pages, types/index.md and cli.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

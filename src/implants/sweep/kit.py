"""Size kits (layer: sweep): N graded variants of one implant around a nominal design (SPEC.md §1: teams
printed 2–3, 5 or 32 sizes and reported which one was used).

``vary`` maps a parameter (or several linked with ``+``, varied together) to its grades:

* ``"-1:+1:1"``: offsets from the nominal value, from −1 to +1 by 1 → nominal −1, nominal, nominal +1;
* ``"10,12,14"`` or ``"kidney,box"``: absolute values.

Kit variants are the product of the entries. The kit is built by the sweep runner (parallel,
resumable) into ``DIR/variants/``; ``DIR/kit.csv`` is the kit table (label, grade per entry,
nominal flag, parameters, volume, mass, checks, files) and ``DIR/kit.png`` shows the kit lined
up on one scale, labelled, with the nominal variant marked.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..checks.meshfile import read_mesh
from ..errors import ParameterError
from ..params import unit_of
from ..registry import get
from .runner import run_sweep
from .spec import load_spec

KIT_CSV = "kit.csv"
KIT_PNG = "kit.png"


def parse_vary(items: list[str] | dict[str, str]) -> dict[str, str]:
    """``["height_mm=-1:+1:1", ...]`` → ``{"height_mm": "-1:+1:1"}`` (ParameterError if malformed)."""
    if isinstance(items, dict):
        return dict(items)
    out = {}
    for item in items:
        key, sep, grades = item.partition("=")
        if not sep or not key.strip() or not grades.strip():
            raise ParameterError(f"--vary expects key=-1:+1:1 or key=a,b,c, got '{item}'")
        out[key.strip()] = grades.strip()
    return out


def _grades(keys: list[str], text: str, nominal: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(grade label, {key: value}) for one --vary entry."""
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ParameterError(f"--vary {'+'.join(keys)}={text}: a range is from:to:step (offsets from nominal)")
        try:
            lo, hi, step = (float(p) for p in parts)
        except ValueError:
            raise ParameterError(f"--vary {'+'.join(keys)}={text}: from:to:step must be numbers") from None
        if step <= 0 or hi < lo:
            raise ParameterError(f"--vary {'+'.join(keys)}={text}: needs from <= to and step > 0")
        count = int(round((hi - lo) / step)) + 1
        if count > 64:
            raise ParameterError(f"--vary {'+'.join(keys)}={text}: {count} grades (allowed at most 64)")
        offsets = [round(lo + i * step, 9) for i in range(count)]
        grades = []
        for offset in offsets:
            values = {}
            for key in keys:
                base = nominal.get(key)
                if not isinstance(base, (int, float)) or isinstance(base, bool):
                    raise ParameterError(f"--vary {key}: offsets need a numeric parameter (nominal {key} = {base!r})")
                values[key] = round(base + offset, 9) if isinstance(base, float) else int(round(base + offset))
            grades.append((f"{offset:+g}" if offset else "0", values))
        return grades
    raw = [v.strip() for v in text.split(",") if v.strip()]
    if not raw:
        raise ParameterError(f"--vary {'+'.join(keys)}={text}: no values")
    grades = []
    for item in raw:
        value = yaml.safe_load(item)
        grades.append((str(item), {key: value for key in keys}))
    return grades


def _nominal_index(grades: list[tuple[str, dict[str, Any]]], nominal: dict[str, Any]) -> int:
    for i, (_, values) in enumerate(grades):
        if all(_same(nominal.get(k), v) for k, v in values.items()):
            return i
    return (len(grades) - 1) // 2  # nominal not among the values: the middle grade


def _same(a: Any, b: Any) -> bool:
    a = getattr(a, "value", a)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-9
    return str(a) == str(b)


def _label(values: dict[str, Any]) -> str:
    parts = []
    for key, value in values.items():
        unit = unit_of(key)
        short = key.removesuffix("_mm").removesuffix("_deg")
        shown = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        parts.append(f"{short} {shown}{(' ' + unit) if unit == 'mm' else ('°' if unit == 'deg' else '')}")
    return ", ".join(parts)


def make_kit(type_id: str, vary: list[str] | dict[str, str], out_dir: str | Path, preset: str | None = None,
             params: dict[str, Any] | None = None, formats: tuple[str, ...] = ("step", "stl"),
             workers: int | None = None, timeout: float | None = None, progress: bool = False,
             picture: bool = True) -> pd.DataFrame:
    """Build a size kit of ``type_id`` into ``out_dir`` and return the kit table."""
    template = get(type_id)
    entries = parse_vary(vary)
    if not entries:
        raise ParameterError("a kit needs at least one --vary entry")
    if "stl" not in formats:
        formats = (*formats, "stl")  # the kit picture is drawn from the STL meshes
    nominal = template.make_params(preset, **(params or {})).model_dump(mode="json")
    axes = []
    for entry, text in entries.items():
        keys = [k.strip() for k in entry.split("+") if k.strip()]
        unknown = [k for k in keys if k not in nominal]
        if unknown:
            raise ParameterError(f"--vary: unknown parameter(s) {', '.join(unknown)} of {type_id} "
                                 f"(see `implants show {type_id}`)")
        grades = _grades(keys, text, nominal)
        axes.append((entry, grades, _nominal_index(grades, nominal)))
    points, meta = [], []
    for combo in itertools.product(*(range(len(g)) for _, g, _ in axes)):
        values: dict[str, Any] = {}
        for (entry, grades, _), i in zip(axes, combo):
            values.update(grades[i][1])
        points.append(values)
        meta.append({"label": _label(values), "nominal": all(i == n for (_, _, n), i in zip(axes, combo)),
                     **{f"grade.{entry}": grades[i][0] for (entry, grades, _), i in zip(axes, combo)},
                     **{f"row.{k}": i for k, i in enumerate(combo)}})
    spec = load_spec({"type": type_id, "preset": preset, "params": params or {}, "points": points,
                      "outputs": {"formats": list(formats)}, "name": f"kit of {type_id}"})
    out = Path(out_dir)
    results = run_sweep(spec, out, workers=workers, timeout=timeout, progress=progress)
    kit = pd.concat([pd.DataFrame(meta), results.reset_index(drop=True)], axis=1)
    lead = ["index", "variant", "label", "nominal", *[c for c in kit.columns if c.startswith("grade.")], "status",
            "error"]
    varied = [k for entry, _, _ in axes for k in entry.split("+")]
    keep = ["volume_mm3", "brep_volume_mm3", "mass_ti6al4v_g", "mass_peek_g", "checks_ok", "bodies"]
    paths = [c for c in kit.columns if c.startswith("path_")]
    columns = [c for c in [*lead, *varied, *keep, *paths] if c in kit.columns]
    table = kit[columns]
    table.to_csv(out / KIT_CSV, index=False)
    if picture:
        draw_kit(table, out, out / KIT_PNG, title=f"{template.title} kit ({preset or template.default_preset})",
                 grid=[len(g) for _, g, _ in axes], rows=kit[[c for c in kit.columns if c.startswith("row.")]])
    return table


def _silhouette(ax, mesh, colour) -> None:
    """Shaded orthographic projection of a mesh (painter's algorithm) on a 2D axis."""
    from matplotlib.collections import PolyCollection  # matplotlib only when a picture is drawn

    # view from anterior-left-superior, tilted: x right-ish, z up
    view = np.array([1.0, 0.8, 0.55])
    view /= np.linalg.norm(view)
    right = np.cross([0.0, 0.0, 1.0], view)
    right /= np.linalg.norm(right)
    up = np.cross(view, right)
    tris = mesh.vertices[mesh.faces]
    normals = mesh.face_normals
    facing = normals @ view > 0
    tris, normals = tris[facing], normals[facing]
    depth = (tris.mean(axis=1) @ view)
    order = np.argsort(depth)
    tris, normals = tris[order], normals[order]
    light = np.array([0.4, 0.3, 0.85])
    light /= np.linalg.norm(light)
    shade = 0.35 + 0.65 * np.clip(normals @ light, 0, 1)
    colours = np.clip(np.asarray(colour)[None, :] * shade[:, None], 0, 1)
    polys = np.stack([tris @ right, tris @ up], axis=-1)
    ax.add_collection(PolyCollection(polys, facecolors=colours, edgecolors=colours, linewidths=0.2))


def draw_kit(table: pd.DataFrame, root: Path, out: Path, title: str, grid: list[int], rows: pd.DataFrame) -> Path:
    """One PNG: every kit variant drawn to the same scale, in a grid by the first two entries."""
    import matplotlib  # matplotlib, and its switch to the headless backend, only when a picture is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(table)
    if len(grid) >= 2:
        nrows, ncols = grid[0], int(np.prod(grid[1:]))
        cells = [(int(r.iloc[0]), int(np.ravel_multi_index(tuple(int(v) for v in r.iloc[1:]), grid[1:])))
                 for _, r in rows.iterrows()]
    else:
        ncols = min(n, 6)
        nrows = -(-n // ncols)
        cells = [(i // ncols, i % ncols) for i in range(n)]
    meshes = []
    for _, row in table.iterrows():
        path = row.get("path_stl")
        mesh = None
        if row["status"] == "ok" and isinstance(path, str) and (root / path).is_file():
            mesh = read_mesh(root / path, "kit variant")
        meshes.append(mesh)
    view = np.array([1.0, 0.8, 0.55]) / np.linalg.norm([1.0, 0.8, 0.55])
    right = np.cross([0.0, 0.0, 1.0], view)
    right /= np.linalg.norm(right)
    up = np.cross(view, right)
    extents = [np.ptp(m.vertices @ np.stack([right, up], 1), axis=0) for m in meshes if m is not None]
    half = (np.max(extents, axis=0) / 2 * 1.12) if extents else np.array([10.0, 10.0])
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.5 * nrows + 0.6), dpi=110, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for (r, c), (_, row), mesh in zip(cells, table.iterrows(), meshes):
        ax = axes[r][c]
        ax.set_aspect("equal")
        nominal = bool(row["nominal"])
        if mesh is not None:
            _silhouette(ax, mesh, np.array([0.70, 0.74, 0.80]) if not nominal else np.array([0.95, 0.62, 0.25]))
            centre = mesh.bounds.mean(axis=0)
            cx, cy = centre @ right, centre @ up
        else:
            ax.text(0.5, 0.5, f"{row['status']}\n{str(row.get('error') or '')[:60]}", ha="center", va="center",
                    transform=ax.transAxes, fontsize=7, color="red", wrap=True)
            cx = cy = 0.0
        ax.set_xlim(cx - half[0], cx + half[0])
        ax.set_ylim(cy - half[1], cy + half[1])
        label = str(row["label"]).replace(", ", "\n")
        ax.set_title(("NOMINAL\n" if nominal else "") + label, fontsize=8,
                     color="darkorange" if nominal else "black", fontweight="bold" if nominal else "normal")
        if nominal:
            ax.set_axis_on()
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor("darkorange")
                spine.set_linewidth(2.0)
    fig.suptitle(f"{title}: {n} variants, same scale (frame {2 * half[0]:.0f} × {2 * half[1]:.0f} mm); "
                 "not a medical device", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, out)
    return out

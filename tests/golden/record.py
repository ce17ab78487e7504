"""Golden record of every preset of every implant type: what a change of structure must not change.

    .venv/bin/python tests/golden/record.py            # rewrite every tests/golden/<type>/<preset>.json
    .venv/bin/python tests/golden/record.py interbody-cage/lumbar-alif   # one preset

Run it only when a geometry change is intended, and say so in the commit. ``tests/test_golden.py``
builds each preset and compares it with its file: volume and surface area of the B-rep (relative
1e-6), bounding box, bodies, parameter hash and file stem, every named feature (kind, origin,
direction, diameter, length) and the export checks (STEP + STL, as ``implants build`` runs them).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def record(type_id: str, preset: str) -> dict:
    """The golden figures of one preset (builds and exports it into a temporary folder)."""
    import implants
    from implants.writers.manifest import base_name
    from implants.pipeline import export

    implant = implants.build(type_id, preset)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = export(implant, tmp, formats=("step", "stl")).manifest
    box = implant.shape.BoundingBox()
    checks = manifest["checks"]
    return {
        "type": type_id, "preset": preset, "params_hash": implant.params.params_hash(),
        "file_stem": base_name(implant), "bodies": implant.bodies, "parts": sorted(implant.parts),
        "volume_mm3": implant.volume_mm3(), "area_mm2": float(implant.shape.Area()),
        "bbox_mm": [[box.xmin, box.ymin, box.zmin], [box.xmax, box.ymax, box.zmax]],
        "features": {name: {k: f[k] for k in ("kind", "origin_mm", "direction", "diameter_mm", "length_mm") if k in f}
                     for name, f in manifest["features"].items()},
        "checks": {"ok": checks["ok"], "failed": checks["failed"],
                   "mesh": {k: checks["mesh"][k] for k in ("watertight", "winding_consistent", "manifold", "bodies",
                                                           "triangles")},
                   "step": {k: checks["step"][k] for k in ("step_valid", "step_solids")}},
    }


def path_of(type_id: str, preset: str) -> Path:
    return FOLDER / type_id / f"{preset}.json"


def all_presets() -> list[tuple[str, str]]:
    from implants.registry import templates

    return [(t.type_id, name) for t in templates() for name in t.presets]


def main(selected: list[str]) -> None:
    chosen = [p for p in all_presets() if not selected or "/".join(p) in selected]
    for type_id, preset in chosen:
        target = path_of(type_id, preset)
        target.parent.mkdir(exist_ok=True)
        target.write_text(json.dumps(record(type_id, preset), indent=1, sort_keys=True) + "\n")
        print(target.relative_to(FOLDER.parent.parent))


if __name__ == "__main__":
    main(sys.argv[1:])

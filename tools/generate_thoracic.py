"""Write the generated thoracic levels T1–T12 into the package data.

Developer tool, not part of the product: run it when the template, the morphometry table or the
method changes::

    .venv/bin/python tools/generate_thoracic.py

Each level is built by :func:`implants.anatomy.thoracic.build_level` (the packaged VHM L1
deformed to :mod:`implants.anatomy.morphometry`) in its level frame and written as
``src/implants/anatomy/data/T<i>.npz`` (float32 vertices in mm, int32 triangles, compressed), the
format of every packaged bone (:func:`implants.anatomy.packaged.read_npz`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from implants.anatomy.morph import fold_report
from implants.anatomy.morphometry import THORACIC_LEVELS
from implants.anatomy.thoracic import build_level
from implants.checks.mesh import check_mesh

PACKAGE_DATA = Path(__file__).resolve().parents[1] / "src" / "implants" / "anatomy" / "data"


def main() -> None:
    for name in THORACIC_LEVELS:
        mesh = build_level(name)
        checks = check_mesh(mesh)
        folds = fold_report(mesh)
        if not checks["ok"] or folds:
            raise SystemExit(f"{name}: failed {checks['failed']}, {folds} crossing triangle pairs")
        np.savez_compressed(PACKAGE_DATA / f"{name}.npz", vertices=np.asarray(mesh.vertices, np.float32),
                            faces=np.asarray(mesh.faces, np.int32))
        print(f"{name:4s} {len(mesh.faces):6d} triangles  {mesh.volume / 1000:6.2f} cm3")


if __name__ == "__main__":
    main()

"""Build a congruent cervical ACDF cage with 6° of lordosis, export it (STEP, STL, 3MF, GLB +
manifest, checked) into the folder given as the first argument, and print what was written.

    .venv/bin/python examples/build_cage.py out/example-cage

Not a medical device: an illustrative model for teaching and design exploration.
"""

import sys
from pathlib import Path

import implants


def main(out_dir: Path) -> None:
    cage = implants.build("interbody-cage", preset="cervical-acdf", lordosis_deg=6)
    result = implants.export(cage, out_dir)
    checks = result.manifest["checks"]
    angle = cage.metrics["segmental_angle_deg"]  # requested and measured on the built faces
    print(f"{cage.type_id} ({cage.preset}): sagittal angle {angle['sagittal_measured']:.2f} deg (requested {angle['sagittal_requested']:g}), "
          f"volume {checks['mesh']['volume_mm3']:.0f} mm3, checks {'pass' if checks['ok'] else 'FAIL'}")
    for ext, path in sorted(result.paths.items()):
        print(f"  {ext:9s} {path}")
    if not checks["ok"]:
        raise SystemExit(5)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: build_cage.py OUT_DIR")
    main(Path(sys.argv[1]))

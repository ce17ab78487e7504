"""Store the endplate poses of the packaged bones that the assembled spine is built from
(``src/implants/anatomy/data/spine_endplates.npz``).

Developer tool, not part of the product: run it after any packaged bone of the spine changes::

    .venv/bin/python tools/spine_endplates.py

Each pose is found on the bone's mesh (:func:`implants.anatomy.spine.computed_pose`) and stored
with the fingerprint of the data it came from; :func:`implants.anatomy.spine.endplate_pose` uses a
stored pose only while that fingerprint still matches, so a stale file costs time, not correctness.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from implants.anatomy.spine import SPINE_LEVELS, STORED_POSES, computed_pose, has_endplate, pose_fingerprint

OUT = Path(__file__).resolve().parents[1] / "src" / "implants" / "anatomy" / "data" / STORED_POSES


def main() -> None:
    keys, fingerprints, centres, ups = [], [], [], []
    for name in SPINE_LEVELS:
        for side in ("superior", "inferior"):
            if has_endplate(name, side):
                pose = computed_pose(name, side)
                keys.append(f"{name}:{side}")
                fingerprints.append(pose_fingerprint(name, side))
                centres.append(pose.centre)
                ups.append(pose.up)
                print(f"{name:7s} {side:9s} centre {np.round(pose.centre, 1)} tilt {pose.sagittal_deg:6.2f} deg")
    np.savez_compressed(OUT, keys=np.array(keys), fingerprints=np.array(fingerprints),
                        centres=np.array(centres, np.float64), ups=np.array(ups, np.float64))
    print(f"{len(keys)} poses -> {OUT}")


if __name__ == "__main__":
    main()

"""Mass of every implant type's default model in Ti-6Al-4V and in PEEK (B-rep volume × density),
printed as a table: the same geometry is about 3.4 times lighter in PEEK.

    .venv/bin/python examples/compare_materials.py [TYPE ...]

Not a medical device: an illustrative model for teaching and design exploration.
"""

import sys

import implants


def main(type_ids: list[str]) -> None:
    print(f"{'type':30s} {'volume mm3':>11s} {'Ti-6Al-4V g':>12s} {'PEEK g':>8s}")
    for type_id in type_ids:
        implant = implants.build(type_id)
        mass = implant.mass_g()
        print(f"{type_id:30s} {implant.volume_mm3():11.0f} {mass['ti6al4v']:12.2f} {mass['peek']:8.2f}")
        assert mass["peek"] < mass["ti6al4v"]


if __name__ == "__main__":
    main(sys.argv[1:] or implants.type_ids())

"""Congruent vs flat cage under load on the packaged real disc spaces: the table and the pressure
maps of docs/load-transfer.md.

    .venv/bin/python docs/gen_load_transfer.py            # all pairs (~1 min per pair)
    .venv/bin/python docs/gen_load_transfer.py L4/L5      # one pair

Writes ``docs/images/load-transfer/<upper>-<lower>.png`` (congruent and flat, superior and inferior
faces on one colour scale, 256-colour palette), ``docs/load-transfer.json`` (every figure) and
prints the markdown table. Lumbar pairs under 1000 N, C2/C3 under 150 N (the module defaults).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PAIRS = (("mean-L3", "mean-L4", "lumbar"), ("mean-L4", "mean-L5", "lumbar"), ("L3", "L4", "lumbar"),
         ("L4", "L5", "lumbar"), ("C2", "C3", "cervical"))


def main(selected: list[str]) -> None:
    from gen_pages import shrink_png

    from implants.fit.load_transfer import compare_pressure
    from implants.render.pressure_map import Panel, pressure_map_png

    records, rows = {}, []
    for upper, lower, load in PAIRS:
        name = f"{upper}/{lower}"
        if selected and name not in selected:
            continue
        started = time.perf_counter()
        comparison = compare_pressure(upper, lower, load=load)
        panels = [Panel(f"{kind}, {side} face ({'upper' if side == 'superior' else 'lower'} vertebra)",
                        getattr(comparison, kind).faces[side], comparison.outline(side))
                  for kind in ("congruent", "flat") for side in ("superior", "inferior")]
        png = DOCS / "images" / "load-transfer" / f"{upper}-{lower}.png"
        png.parent.mkdir(exist_ok=True)
        png.write_bytes(pressure_map_png(panels, f"{name}: congruent vs flat cage of the same footprint, "
                                         f"{comparison.load.force_n:g} N axial", dpi=80))
        shrink_png(png)
        data = comparison.to_json()
        data["seconds"] = round(time.perf_counter() - started, 1)
        records[name] = data
        for side in ("superior", "inferior"):
            c, f = data["congruent"][side], data["flat"][side]
            ratio = data["ratio_flat_to_congruent"][side]
            rows.append(f"| {name} | {side} | {comparison.load.force_n:g} | {c['peak_mpa']:.2f} | {f['peak_mpa']:.2f} | "
                        f"**{ratio['peak_mpa']:.1f}** | {ratio['p95_mpa']:.1f} | {c['loaded_area_mm2']:.0f} / "
                        f"{f['loaded_area_mm2']:.0f} | {100 * c['rim_share']:.0f} / {100 * f['rim_share']:.0f} |")
        print(f"{name}: {data['seconds']} s", file=sys.stderr)
    out = DOCS / "load-transfer.json"
    previous = json.loads(out.read_text()) if out.is_file() else {}
    out.write_text(json.dumps({**previous, **records}, indent=1) + "\n")
    print("| pair | face | load N | peak congruent MPa | peak flat MPa | peak flat/congruent | p95 flat/congruent "
          "| loaded mm² congruent / flat | rim share % congruent / flat |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    sys.path.insert(0, str(DOCS))
    main(sys.argv[1:])

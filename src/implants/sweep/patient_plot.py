"""The summary picture of a population sweep (layer: sweep): per patient, the contact of the congruent
cage against the stock cage (scatter, with the cadaver figures of Sci Rep 2022;12:12505 marked), the
distribution of the contact ratio congruent / stock, and the distribution of the deepest
penetration of each cage into bone (mm). Written as ``DIR/summary.png``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..writers.atomic import write_files
from .plot import read_results

SUMMARY_PNG = "summary.png"
#: Cadaver measurement (Sci Rep 2022;12:12505): contact ratio patient-specific / stock, lumbar cages.
CADAVER_RATIO = (1.7, 1.9)


def plot_patient_summary(results: str | Path | pd.DataFrame, out: str | Path) -> Path:
    """Draw the population summary of ``results`` (a frame, a results file or a sweep folder) to PNG ``out``."""
    import io

    import matplotlib  # only the picture needs matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = read_results(results)
    total = len(frame)
    ok = frame[frame["status"] == "ok"] if "status" in frame.columns else frame
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), dpi=110)
    region = str(ok["region"].iloc[0]) if len(ok) and "region" in ok.columns else "?"
    fig.suptitle(f"{region} population: {len(ok)} of {total} patients measured "
                 f"({total - len(ok)} failed) — congruent vs stock cage, contact within the tolerance; "
                 "not a medical device", fontsize=10)
    ax = axes[0]
    if len(ok):
        ax.scatter(ok["stock_contact_mm2"], ok["congruent_contact_mm2"], s=18, color="tab:blue", label="patients")
        top = float(max(ok["stock_contact_mm2"].max(), ok["congruent_contact_mm2"].max())) * 1.05
        xs = np.array([0.0, top])
        ax.plot(xs, xs, "k:", lw=0.8, label="equal contact")
        ax.fill_between(xs, CADAVER_RATIO[0] * xs, CADAVER_RATIO[1] * xs, color="tab:orange", alpha=0.25,
                        label=f"cadaver ratio {CADAVER_RATIO[0]}–{CADAVER_RATIO[1]}×")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
    ax.set_xlabel("stock cage contact (mm², both faces)")
    ax.set_ylabel("congruent cage contact (mm², both faces)")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("contact per patient", fontsize=10)
    ax = axes[1]
    ratio = pd.to_numeric(ok.get("contact_ratio", pd.Series(dtype=float)), errors="coerce").dropna()
    if len(ratio):
        ax.hist(ratio, bins=max(5, min(30, len(ratio) // 3)), color="tab:blue", alpha=0.8)
        ax.axvline(float(ratio.median()), color="k", lw=1.2, label=f"median {ratio.median():.2f}×")
    ax.axvspan(*CADAVER_RATIO, color="tab:orange", alpha=0.3, label="cadaver 1.7–1.9× (Sci Rep 2022)")
    ax.set_xlabel("contact ratio congruent / stock")
    ax.set_ylabel("patients")
    ax.legend(fontsize=8)
    ax.set_title("contact ratio", fontsize=10)
    ax = axes[2]
    series = [pd.to_numeric(ok.get(f"{kind}_max_penetration_mm", pd.Series(dtype=float)), errors="coerce").dropna()
              for kind in ("congruent", "stock")]
    if any(len(s) for s in series):
        upper = max(float(s.max()) for s in series if len(s)) or 0.01
        bins = np.linspace(0.0, upper * 1.05, 16)
        for values, kind, colour in zip(series, ("congruent", "stock"), ("tab:blue", "tab:red")):
            ax.hist(values, bins=bins, alpha=0.6, color=colour, label=f"{kind} (max {values.max():.3f} mm)")
    ax.set_xlabel("deepest penetration into bone (mm)")
    ax.set_ylabel("patients")
    ax.legend(fontsize=8)
    ax.set_title("penetration", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    target = Path(out)
    return write_files(target.parent, {target.name: buffer.getvalue()})[target.name]

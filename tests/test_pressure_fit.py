"""Load transfer of fitted cages (implants.fit.load_transfer): on the real mean L4/L5 disc space
under 1000 N, the congruent cage spreads the load over its whole bearing faces and the flat cage
of the same footprint concentrates it on its rim (measured: peak ratio flat/congruent 5.7-5.9)."""

from __future__ import annotations

import numpy as np
import pytest

from implants import ParameterError
from implants.fit.load_transfer import compare_pressure


@pytest.mark.slow
def test_congruent_cage_lowers_the_peak_pressure_on_real_mean_l4_l5():
    comparison = compare_pressure("mean-L4", "mean-L5", load="lumbar")
    data = comparison.to_json()
    assert np.allclose(comparison.axis, comparison.anatomy.disc.frame.axes[2], atol=1e-9)
    for side in ("superior", "inferior"):
        congruent, flat = comparison.congruent.faces[side], comparison.flat.faces[side]
        for face in (congruent, flat):  # equilibrium of the axial force on every face
            assert (face.pressure_mpa * face.area_mm2).sum() == pytest.approx(1000.0, rel=1e-8)
        assert congruent.figures["pct_loaded"] > 95
        assert flat.figures["pct_loaded"] < 60
        assert flat.figures["rim_share"] > 0.8 > 0.6 > congruent.figures["rim_share"]
        assert data["ratio_flat_to_congruent"][side]["peak_mpa"] > 4.0


def test_bad_load_fails_before_any_cage_is_built():
    with pytest.raises(ParameterError, match="load force = -10.0 N"):
        compare_pressure("mean-L4", "mean-L5", load=-10.0)

"""Per-level thoracic morphometry (T1–T12) that the generated thoracic levels are built to
(layer: anatomy).

Every dimension carries its unit, how it is measured, and where its numbers come from. The
intended reference for all of them is Panjabi MM, Takata K, Goel V, Federico D, Oxland T,
Duranceau J, Krag M (1991) "Thoracic human vertebrae. Quantitative three-dimensional anatomy",
Spine 16(8):888–901 (144 vertebrae; means per level). **Its tables could not be read while this
module was written**, so no number below is quoted from it: each value is either

- ``published``: read from the source named in ``anchors`` (other studies whose numbers were
  available: Kaur K et al. 2016, J Clin Orthop Trauma 7(2):101–108, CT of 600 thoracic vertebrae;
  Egwu OA et al. 2019, J Anat Soc India 68(2):110–118, 208 dry vertebrae), or
- ``estimate``: a smooth per-level curve drawn through those anchors and the trends Panjabi et al.
  describe in their abstract (upper, middle T3–T9 and lower thoracic zones; the ends transitional
  to cervical and lumbar), with typical textbook magnitudes. An estimate is a modelling choice,
  not a citation; replace it with the paper's value when the table is at hand.

All lengths in mm, angles in degrees; T1 first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ParameterError

THORACIC_LEVELS = tuple(f"T{i}" for i in range(1, 13))

PANJABI_1991 = ("Panjabi MM et al. (1991) Thoracic human vertebrae. Quantitative three-dimensional anatomy. "
                "Spine 16(8):888-901")
KAUR_2016 = ("Kaur K, Singh R, Prasath V, Magu S, Tanwar M (2016) Computed tomographic-based morphometric study of "
             "thoracic spine. J Clin Orthop Trauma 7(2):101-108 (abstract)")
MASHARAWI_2004 = ("Masharawi Y et al. (2004) Facet orientation in the thoracolumbar spine: three-dimensional anatomic "
                  "and biomechanical analysis. Spine 29(16):1755-1763 (abstract: 4,080 vertebrae T1-L5 of 240 columns; "
                  "T1-T11 facets about 25-30 deg from the frontal plane in the transverse plane)")
EGWU_2019 = ("Egwu OA et al. (2019) Typical thoracic vertebrae morphometry: a cadaveric study in Nigeria. "
             "J Anat Soc India 68(2):110-118 (abstract)")


@dataclass(frozen=True)
class Dimension:
    """One measured quantity per thoracic level."""

    name: str
    unit: str
    measured: str                      # how the quantity is defined on a vertebra
    values: tuple[float, ...]          # T1 … T12
    status: str                        # "estimate" or "published" (see the module docstring)
    basis: str                         # where the numbers come from
    anchors: dict[str, tuple[float, str]] = field(default_factory=dict)  # level → (published value, source)

    def at(self, level: str) -> float:
        return self.values[level_index(level)]


def level_index(level: str) -> int:
    """0 for T1 … 11 for T12; ParameterError otherwise."""
    name = str(level).strip().upper()
    if name not in THORACIC_LEVELS:
        raise ParameterError(f"thoracic level {level!r}: allowed {', '.join(THORACIC_LEVELS)}")
    return THORACIC_LEVELS.index(name)


_TREND = f"estimate following the level trends described by {PANJABI_1991}"

TABLE: dict[str, Dimension] = {d.name: d for d in (
    Dimension("endplate_width_upper", "mm", "superior endplate, largest medio-lateral extent",
              (27.0, 26.5, 26.0, 26.5, 28.0, 29.5, 31.0, 32.5, 34.5, 37.5, 40.0, 42.5), "estimate", _TREND),
    Dimension("endplate_width_lower", "mm", "inferior endplate, largest medio-lateral extent",
              (28.5, 27.0, 26.5, 27.5, 29.0, 30.5, 32.0, 34.0, 36.5, 39.0, 41.5, 44.0), "estimate", _TREND),
    Dimension("endplate_depth_upper", "mm", "superior endplate, antero-posterior extent",
              (16.0, 18.0, 19.5, 21.5, 23.0, 24.5, 26.0, 27.0, 28.0, 29.5, 31.0, 32.0), "estimate", _TREND),
    Dimension("endplate_depth_lower", "mm", "inferior endplate, antero-posterior extent",
              (17.0, 19.0, 20.5, 22.5, 24.0, 25.5, 26.5, 27.5, 28.5, 30.0, 31.0, 32.5), "estimate", _TREND),
    Dimension("body_height_anterior", "mm", "anterior body height, endplate to endplate in the midline",
              (14.0, 16.9, 16.2, 16.6, 17.0, 17.4, 17.8, 18.3, 18.8, 19.8, 21.2, 22.8), "estimate",
              f"{_TREND}; through the values of {EGWU_2019} at T2 and T9",
              {"T2": (16.93, EGWU_2019), "T9": (18.83, EGWU_2019)}),
    Dimension("body_height_posterior", "mm", "posterior body height, endplate to endplate in the midline",
              (15.0, 17.6, 17.8, 18.1, 18.4, 18.8, 19.3, 19.8, 20.5, 21.4, 22.4, 23.8), "estimate",
              f"{_TREND}; through the values of {EGWU_2019} at T2 and T9",
              {"T2": (17.59, EGWU_2019), "T9": (20.46, EGWU_2019)}),
    Dimension("pedicle_width", "mm", "narrowest medio-lateral width of the pedicle (isthmus)",
              (9.3, 7.0, 5.5, 4.5, 4.8, 5.0, 5.4, 5.9, 6.4, 7.0, 7.8, 8.3), "estimate",
              f"{_TREND}; through the CT values of {KAUR_2016} at T1, T4 and T12",
              {"T1": (9.27, KAUR_2016), "T4": (4.5, KAUR_2016), "T12": (8.31, KAUR_2016)}),
    Dimension("pedicle_height", "mm", "cranio-caudal height of the pedicle isthmus",
              (9.5, 11.0, 11.5, 11.5, 11.5, 11.5, 12.0, 12.5, 14.0, 15.0, 16.0, 16.5), "estimate", _TREND),
    Dimension("pedicle_transverse_angle", "deg", "pedicle axis towards the midline, anteriorly, in the transverse "
              "plane (positive: converging)",
              (35.4, 27.0, 21.0, 16.0, 13.0, 11.0, 9.0, 7.0, 5.0, 2.0, -4.0, -9.8), "estimate",
              f"{_TREND}; through the CT values of {KAUR_2016} at T1 and T12",
              {"T1": (35.4, KAUR_2016), "T12": (-9.8, KAUR_2016)}),
    Dimension("canal_width", "mm", "spinal canal, medio-lateral, between the pedicles",
              (18.0, 17.5, 16.0, 15.5, 15.5, 15.5, 15.5, 16.0, 16.5, 17.0, 18.5, 20.5), "estimate",
              f"{_TREND}; T1 kept at 18 mm: wider, the template's pedicles flare so far that T1's endplate and "
              "pedicle tops form one patch for extract_endplate"),
    Dimension("canal_depth", "mm", "spinal canal, antero-posterior, body to laminae in the midline",
              (14.5, 15.0, 15.5, 15.5, 15.5, 15.5, 15.5, 15.5, 16.0, 16.5, 17.0, 17.5), "estimate", _TREND),
    Dimension("spinous_length", "mm", "spinous process, posterior canal wall in the midline to the tip",
              (42.0, 40.0, 39.0, 38.0, 38.0, 38.0, 38.0, 37.0, 36.0, 34.0, 31.0, 28.0), "estimate", _TREND),
    Dimension("spinous_inclination", "deg", "spinous process, canal wall → tip line below the transverse "
              "plane of the body (steepest mid-thoracic)",
              (20.0, 30.0, 40.0, 50.0, 58.0, 62.0, 64.0, 60.0, 55.0, 45.0, 35.0, 20.0), "estimate",
              "estimate from the textbook description of overlapping mid-thoracic spinous processes"),
    Dimension("transverse_span", "mm", "tip to tip of the transverse processes",
              (74.0, 70.0, 68.0, 67.0, 66.0, 65.0, 64.0, 63.0, 61.0, 58.0, 54.0, 50.0), "estimate", _TREND),
    Dimension("transverse_backward_angle", "deg", "transverse process behind the coronal plane (posterolateral)",
              (10.0, 15.0, 20.0, 25.0, 28.0, 30.0, 30.0, 30.0, 28.0, 25.0, 20.0, 15.0), "estimate",
              "estimate from the textbook description (posterolateral transverse processes)"),
    Dimension("transverse_upward_angle", "deg", "transverse process above the transverse plane",
              (10.0, 12.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0, 12.0, 10.0, 5.0), "estimate",
              "estimate from the textbook description (transverse processes pointing slightly upwards)"),
    Dimension("superior_facet_coronal_angle", "deg", "superior articular facet plane against the coronal plane "
              "in the transverse view (0: coronal, facet facing posteriorly; 90: sagittal)",
              (27.5,) * 12, "estimate",
              f"T1-T11: the middle of the 25-30 deg range of {MASHARAWI_2004}; T12 (superior facets of the "
              "thoracic type, its inferior ones lumbar) the same by estimate",
              {f"T{i}": (27.5, MASHARAWI_2004) for i in range(1, 12)}),
)}

#: Costal facets per level: which rib joints the level carries (textbook anatomy).
#: body_superior / body_inferior: "demi" (demifacet at that posterolateral body margin),
#: "whole" (a complete facet), None; transverse: facet on the transverse-process tip.
COSTAL_FACETS: dict[str, dict[str, str | bool | None]] = {
    "T1": {"body_superior": "whole", "body_inferior": "demi", "transverse": True},
    **{f"T{i}": {"body_superior": "demi", "body_inferior": "demi", "transverse": True} for i in range(2, 10)},
    "T10": {"body_superior": "whole", "body_inferior": None, "transverse": True},
    "T11": {"body_superior": "whole", "body_inferior": None, "transverse": False},
    "T12": {"body_superior": "whole", "body_inferior": None, "transverse": False},
}


def dimensions(level: str) -> dict[str, float]:
    """Every dimension of ``level`` by name (units in :data:`TABLE`)."""
    index = level_index(level)
    return {name: dim.values[index] for name, dim in TABLE.items()}

"""Synthetic patients: the anatomy of one motion segment as validated numbers, and reproducible
populations drawn from published distributions (layer: anatomy).

A :class:`Patient` describes two adjacent vertebrae and the disc between them: lumbar L4/L5 or
cervical C5/C6 (:data:`LEVELS`). Every field has a unit (its suffix: ``_mm``, ``_deg``, ``_pct``),
bounds, a default (the population mean) and a documented standard deviation and source
(:data:`POPULATION`); :func:`population_table` lists them. Fields, per vertebra (``upper_`` /
``lower_``) and endplate (``superior_`` / ``inferior_``):

* ``width_mm`` / ``depth_mm``: medio-lateral / antero-posterior extent of the endplate rim;
* ``concavity_mm``: deepest gap between the endplate and a ruler resting on its rim;
* ``apex_ap_pct``: the deepest point behind the anterior rim, % of the endplate depth (50 = middle);
* ``apex_lr_pct``: the deepest point to patient-left of the middle, % of the endplate width;
* ``body_height_mm``: mean rim-to-rim height of the vertebral body along its axis;
* ``disc_height_mm``: disc height at the centre of the disc space (between the endplate surfaces,
  concavities included: the midline "Hurxthal" height); ``disc_sagittal_deg``: angle between the
  endplates, positive lordotic (anterior taller); ``disc_coronal_deg``: positive taller on the left;
* ``region_lordosis_deg``: regional alignment (lumbar T12–S1, cervical C2–C7 Cobb).

These are exactly what :mod:`.patient_morph` measures back on the morphed meshes with
:func:`~.endplates.extract_endplate` and :func:`~.disc_space.disc_space` (definitions there).

**Honesty about the numbers.** Each entry says ``published`` (the mean, and the SD where given,
read from the source's abstract or table) or ``estimate`` (a modelling choice with typical
magnitudes, not a citation). Published means of different studies use different measuring
methods (calipers, radiographs, CT); the morph imposes the value with this project's definitions.
**Correlations** (:data:`CORRELATIONS`): only two come from the literature (disc height vs
lordosis: none found; C5/C6 angle vs C2–C7 lordosis r ≈ 0.2); the shared body-size factor of the
linear sizes and the lumbar segmental-angle/lordosis coupling are assumptions, marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from ..errors import ParameterError
from ..params import format_validation_error, unit_of

WANG_2012 = ("Wang Y, Battié MC, Videman T (2012) A morphological study of lumbar vertebral endplates. Eur Spine J "
             "21(11):2316-2323 (591 endplates, 76 male spines; mean concavity cranial 1.5 mm, caudal 0.7 mm)")
SUN_CT = ("Sun W, Lu S, Hai Y et al. CT measurement of sagittal endplate morphology of the adult lower lumbar spine "
          "(80 volunteers; concavity apex always in the posterior half)")
CHEN_2013 = ("Chen H et al. (2013) Sagittal geometry of the middle and lower cervical endplates. Eur Spine J "
             "22(7):1570-1575 (97 CTs; concavity superior 0.9-1.2 mm, inferior 2.1-2.7 mm; apex at 56-67 % "
             "(superior) and 52-57 % (inferior) of the depth from anterior)")
COOK_2021 = ("Cook WH, Baker JF (2021) Lumbar vertebral morphology of Maori and NZ Europeans: a CT study. "
             "Int J Spine Surg 15(6):1072-1081, Table 6 (L5: superior length 35.7 ± 3.5, inferior 35.3 ± 3.6, "
             "anterior height 30.3 ± 1.9, posterior height 26.3 ± 1.9 mm; 196 patients)")
DISC_XRAY_2023 = ("Lumbar disc height methods, RoFo 2023 doi:10.1055/a-1994-0879 (130 patients: midline "
                  "'Hurxthal' height 9.1 ± 1.3 mm over all lumbar segments; no correlation with lordosis)")
LORDOSIS_2019 = ("Lumbar alignment of 627 asymptomatic volunteers, PMC6680033 (standing T12-S1 lordosis "
                 "49.8 ± 11.2 deg; L4-S1 34.2 ± 8.3 deg)")
GUO_2018 = ("Guo GM et al. (2018) Cervical lordosis in asymptomatic individuals: a meta-analysis. J Orthop Surg "
            "Res 13:147 (C2-C7 Cobb 12.7 deg); SD 12.2 deg from Liu et al. (212 volunteers) as cited there")
HUANG_2020 = ("Huang Z, Zhu Y, Yuan W (2020) Med Sci Monit 26:e924857, Table 2 (C5/6 angle vs cervical lordosis "
              "r = 0.23 / 0.17; C5/6 height vs lordosis r = 0.001 / 0.07)")
PANJABI_TREND = ("estimate: typical magnitudes following the level trends of Panjabi et al. (1991, 1992) "
                 "morphometry (tables not read)")

SIDES = ("superior", "inferior")
VERTEBRAE = ("upper", "lower")
#: The two levels of each region's segment (upper, lower), as labelled in outputs; each is morphed from
#: that packaged mean-shape / real level, except the cervical C5, morphed from the packaged C6
#: (:data:`~.patient_morph.MORPHED_FROM`: the packaged C5's superior endplate is too coarse).
LEVELS: dict[str, tuple[str, str]] = {"lumbar": ("mean-L4", "mean-L5"), "cervical": ("C5", "C6")}
#: Smallest gap (mm) left between the endplate rims by the cross-field rule.
MIN_RIM_GAP_MM = 1.0


@dataclass(frozen=True)
class Measure:
    """One field's population distribution: mean ± sd (normal, truncated to low…high)."""

    mean: float
    sd: float
    low: float
    high: float
    status: str     # "published" or "estimate"
    source: str


def _half(value: float) -> float:
    return round(value * 2) / 2


def _endplate(width, depth, concavity, apex_ap, width_src=PANJABI_TREND, depth_src=PANJABI_TREND,
              conc_src=WANG_2012, apex_src=SUN_CT, conc_status="published", apex_status="estimate",
              depth_status="estimate") -> dict[str, Measure]:
    w, d = width, depth
    return {"width_mm": Measure(w, round(0.08 * w, 2), _half(0.75 * w), _half(1.25 * w), "estimate",
                                width_src + "; SD 8 % estimate"),
            "depth_mm": Measure(d[0], d[1], _half(0.75 * d[0]), _half(1.25 * d[0]), depth_status, depth_src),
            "concavity_mm": Measure(concavity[0], concavity[1], 0.3, 4.0, conc_status,
                                    conc_src + "; SD estimate"),
            "apex_ap_pct": Measure(apex_ap, 8.0, 30.0, 75.0, apex_status, apex_src + "; SD estimate"),
            "apex_lr_pct": Measure(0.0, 5.0, -20.0, 20.0, "estimate", "no published value found: centred, SD 5 %")}


#: Per region, every field's distribution (see the module docstring for which are published).
POPULATION: dict[str, dict[str, Measure]] = {
    "lumbar": {
        **{f"upper_superior_{k}": v for k, v in _endplate(47.0, (35.0, 3.3), (0.7, 0.4), 55.0).items()},
        **{f"upper_inferior_{k}": v for k, v in _endplate(48.5, (34.5, 3.3), (1.5, 0.6), 55.0).items()},
        **{f"lower_superior_{k}": v for k, v in _endplate(49.5, (35.7, 3.5), (0.7, 0.4), 55.0,
                                                          depth_src=COOK_2021, depth_status="published").items()},
        **{f"lower_inferior_{k}": v for k, v in _endplate(49.0, (35.3, 3.6), (1.5, 0.6), 55.0,
                                                          depth_src=COOK_2021, depth_status="published").items()},
        "upper_body_height_mm": Measure(27.5, 1.9, 21.0, 34.0, "estimate", "L4: between Cook 2021's L5 heights and "
                                        "the level trend; SD as L5"),
        "lower_body_height_mm": Measure(28.3, 1.9, 21.0, 34.0, "published", COOK_2021 + ": mean of anterior and "
                                        "posterior height"),
        "disc_height_mm": Measure(10.0, 1.5, 5.0, 16.0, "estimate", DISC_XRAY_2023 + "; L4/L5 above the all-level "
                                  "mean (Amonoo-Kuofi 1991, Frobin 1997: height rises from L1/2 to L4/5)"),
        "disc_sagittal_deg": Measure(12.0, 4.0, -5.0, 25.0, "estimate", LORDOSIS_2019 + ": L4/L5 about a third of "
                                     "L4-S1"),
        "disc_coronal_deg": Measure(0.0, 1.5, -8.0, 8.0, "estimate", "no published value found: symmetric, SD 1.5 deg"),
        "region_lordosis_deg": Measure(49.8, 11.2, 10.0, 90.0, "published", LORDOSIS_2019),
    },
    "cervical": {
        **{f"upper_superior_{k}": v for k, v in _endplate(17.5, (15.5, 1.3), (1.05, 0.4), 61.5, conc_src=CHEN_2013,
                                                          apex_src=CHEN_2013, apex_status="published").items()},
        **{f"upper_inferior_{k}": v for k, v in _endplate(19.5, (16.5, 1.3), (2.4, 0.6), 54.5, conc_src=CHEN_2013,
                                                          apex_src=CHEN_2013, apex_status="published").items()},
        **{f"lower_superior_{k}": v for k, v in _endplate(19.0, (16.0, 1.3), (1.05, 0.4), 61.5, conc_src=CHEN_2013,
                                                          apex_src=CHEN_2013, apex_status="published").items()},
        **{f"lower_inferior_{k}": v for k, v in _endplate(21.0, (17.0, 1.3), (2.4, 0.6), 54.5, conc_src=CHEN_2013,
                                                          apex_src=CHEN_2013, apex_status="published").items()},
        "upper_body_height_mm": Measure(14.0, 1.2, 10.0, 18.0, "estimate", PANJABI_TREND),
        "lower_body_height_mm": Measure(14.3, 1.2, 10.0, 18.0, "estimate", PANJABI_TREND),
        "disc_height_mm": Measure(5.5, 1.0, 3.0, 9.0, "estimate", "estimate of the central C5/C6 height between "
                                  "concave endplates (no table read)"),
        "disc_sagittal_deg": Measure(4.0, 4.0, -10.0, 15.0, "estimate", "estimate: a share of the C2-C7 lordosis"),
        "disc_coronal_deg": Measure(0.0, 1.0, -6.0, 6.0, "estimate", "no published value found: symmetric, SD 1 deg"),
        "region_lordosis_deg": Measure(12.7, 12.2, -30.0, 50.0, "published", GUO_2018),
    },
}

#: Correlations used by :meth:`Patient.sample`: (group or field, field, r, status, source).
#: "size" stands for every width, depth and body height of the segment.
CORRELATIONS: dict[str, tuple[tuple[str, str, float, str, str], ...]] = {
    "lumbar": (("size", "size", 0.7, "assumed", ("no coefficient found; one body-size factor (Cook 2021: females "
                                                 "smaller in every linear size)")),
               ("disc_sagittal_deg", "region_lordosis_deg", 0.5, "assumed", "no coefficient found for L4/L5"),
               ("disc_height_mm", "region_lordosis_deg", 0.0, "published", DISC_XRAY_2023)),
    "cervical": (("size", "size", 0.7, "assumed", "no coefficient found; one body-size factor"),
                 ("disc_sagittal_deg", "region_lordosis_deg", 0.2, "published", HUANG_2020),
                 ("disc_height_mm", "region_lordosis_deg", 0.0, "published", HUANG_2020)),
}


def _is_size(name: str) -> bool:
    return name.endswith(("width_mm", "depth_mm", "body_height_mm"))


class Patient(BaseModel):
    """One motion segment's anatomy (mm, deg, %); build with :meth:`of` or :meth:`sample`.

    The region's model (:data:`MODELS`) holds the fields with their bounds and defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    region: ClassVar[str] = ""

    @property
    def levels(self) -> tuple[str, str]:
        """The (upper, lower) levels of this patient (:data:`LEVELS`: labels of outputs and requests)."""
        return LEVELS[self.region]

    def endplate(self, vertebra: str, side: str) -> dict[str, float]:
        """width_mm, depth_mm, concavity_mm, apex_ap_pct, apex_lr_pct of one endplate."""
        prefix = f"{vertebra}_{side}_"
        return {k[len(prefix):]: v for k, v in self.model_dump().items() if k.startswith(prefix)}

    def values(self) -> dict[str, float]:
        """Every field by name, plus ``region``."""
        return {"region": self.region, **self.model_dump()}

    @model_validator(mode="after")
    def _endplates_do_not_overlap(self) -> Patient:
        rim_gap, smallest = _rim_gap(self.model_dump())
        if rim_gap < MIN_RIM_GAP_MM:
            high = POPULATION[self.region]["disc_height_mm"].high
            raise ValueError(f"disc_height_mm = {self.disc_height_mm}: the endplate rims would overlap (gap "
                             f"{rim_gap:.2f} mm with these concavities and angles); allowed {smallest:.2f} to "
                             f"{high} mm")
        return self

    @staticmethod
    def of(region: str = "lumbar", **values: Any) -> Patient:
        """A validated patient of ``region``; every field not given takes its population mean.
        :class:`ParameterError` names the field, the value and the allowed range."""
        model = model_for(region)
        try:
            return model.model_validate(values)
        except ValidationError as error:
            message = format_validation_error(model, error).removeprefix("parameters: ")
            raise ParameterError(message.replace(" (see `implants show `)", "")) from None

    @staticmethod
    def sample(n: int, seed: int, region: str = "lumbar") -> list[Patient]:
        """``n`` patients drawn reproducibly (same ``seed`` → same patients) from the region's
        truncated normal distributions with the correlations of :data:`CORRELATIONS`; draws
        outside the bounds or breaking a cross-field rule are drawn again."""
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 100_000:
            raise ParameterError(f"n = {n!r}: allowed 1 to 100000 patients")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ParameterError(f"seed = {seed!r}: allowed an integer ≥ 0")
        model = model_for(region)
        names = list(POPULATION[region])
        table = POPULATION[region]
        mean = np.array([table[k].mean for k in names])
        sd = np.array([table[k].sd for k in names])
        low = np.array([table[k].low for k in names])
        high = np.array([table[k].high for k in names])
        chol = np.linalg.cholesky(correlation_matrix(region))
        rng = np.random.default_rng(seed)
        patients: list[Patient] = []
        while len(patients) < n:
            draws = mean + sd * (rng.standard_normal((n, len(names))) @ chol.T)
            for row in np.round(draws, 2):
                if len(patients) == n:
                    break
                if (row < low).any() or (row > high).any():
                    continue
                values = dict(zip(names, (float(v) for v in row)))
                if _rim_gap(values)[0] >= MIN_RIM_GAP_MM:
                    patients.append(model.model_validate(values))
        return patients


def _rim_gap(v: dict[str, float]) -> tuple[float, float]:
    """Smallest gap (mm) between the endplate rims implied by the central disc height, the two
    facing concavities and the wedge angles, and the smallest disc height leaving MIN_RIM_GAP_MM."""
    depth = min(v["upper_inferior_depth_mm"], v["lower_superior_depth_mm"])
    width = min(v["upper_inferior_width_mm"], v["lower_superior_width_mm"])
    taken = (v["upper_inferior_concavity_mm"] + v["lower_superior_concavity_mm"]
             + 0.5 * depth * np.tan(np.radians(abs(v["disc_sagittal_deg"])))
             + 0.5 * width * np.tan(np.radians(abs(v["disc_coronal_deg"]))))
    return float(v["disc_height_mm"] - taken), float(taken + MIN_RIM_GAP_MM)


def correlation_matrix(region: str) -> np.ndarray:
    """The correlation matrix of :data:`POPULATION`\\[region] fields (order of the table)."""
    names = list(POPULATION[region])
    index = {k: i for i, k in enumerate(names)}
    corr = np.eye(len(names))
    for a, b, r, _, _ in CORRELATIONS[region]:
        if a == "size":
            sizes = [index[k] for k in names if _is_size(k)]
            for i in sizes:
                for j in sizes:
                    if i != j:
                        corr[i, j] = r
        else:
            corr[index[a], index[b]] = corr[index[b], index[a]] = r
    return corr


def _model(region: str) -> type[Patient]:
    fields = {name: (float, Field(m.mean, ge=m.low, le=m.high,
                                  description=f"{m.mean} ± {m.sd} ({m.status}: {m.source})"))
              for name, m in POPULATION[region].items()}
    model = create_model(f"{region.capitalize()}Patient", __base__=Patient, __doc__=(
        f"A {region} {'/'.join(LEVELS[region])} patient (see :class:`Patient`)."), **fields)
    model.region = region
    return model


#: The patient model of each region.
MODELS: dict[str, type[Patient]] = {region: _model(region) for region in POPULATION}


def model_for(region: str) -> type[Patient]:
    """The patient model of ``region``; ParameterError listing the regions otherwise."""
    if region not in MODELS:
        raise ParameterError(f"region = {region!r}: allowed {', '.join(MODELS)}")
    return MODELS[region]


def population_table(region: str) -> list[dict]:
    """One row per field: name, unit, mean, sd, low, high, status, source."""
    model_for(region)
    return [{"field": name, "unit": unit_of(name), "mean": m.mean, "sd": m.sd, "low": m.low, "high": m.high,
             "status": m.status, "source": m.source} for name, m in POPULATION[region].items()]

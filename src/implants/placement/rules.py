"""Where each implant type sits against which bones (layer: placement): one rule per type, the
review figure it illustrates, and :func:`layout_for`. Used by the in-situ scenes (render) and the
printable demonstrators.

A rule ``(implant) -> SceneLayout`` gives the real bones (packaged meshes, :mod:`.bones`: each placed
by a pose of its body frame and carrying that frame) and the implant's 4×4 transform: the bones are
posed from the template's documented origin (an endplate on a bearing face, an arch at its offset) and
brought along an axis onto the implant (:func:`~.poses.approach`) so that its contact faces touch
bone without interpenetration. The rules are in :mod:`.rules_cervical` (Figs. 4, 5, 7, 9) and
:mod:`.rules_column` (Figs. 6, 8, 10, 11); :func:`implants.placement.seating.seat_report` measures
the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .poses import SceneLayout
from .rules_cervical import anterior_plate, distraction_spacer, transarticular_template, upper_cervical_docking
from .rules_column import bridge_strut_rule, interbody_cage, monolithic, vertebral_body_replacement

if TYPE_CHECKING:
    from ..model import Implant

#: type id → scene rule. Add a line per type; a type without one is shown alone with a note.
SCENE_RULES: dict[str, Callable[["Implant"], SceneLayout]] = {
    "upper-cervical-docking": upper_cervical_docking,
    "c1c2-transarticular-template": transarticular_template,
    "distraction-spacer": distraction_spacer,
    "interbody-cage": interbody_cage,
    "vertebral-body-replacement": vertebral_body_replacement,
    "anterior-plate": anterior_plate,
    "bridge-strut": bridge_strut_rule,
    "monolithic": monolithic,
}

#: the review's figure per type (for captions), SPEC.md order
FIGURES = {
    "upper-cervical-docking": "Fig. 4", "c1c2-transarticular-template": "Fig. 5", "interbody-cage": "Fig. 6",
    "distraction-spacer": "Fig. 7", "vertebral-body-replacement": "Fig. 8", "anterior-plate": "Fig. 9",
    "bridge-strut": "Fig. 10", "monolithic": "Fig. 11",
}


def layout_for(implant: "Implant") -> tuple[SceneLayout, bool]:
    """The scene layout of an implant on the packaged real bones and whether its type has a rule."""
    rule = SCENE_RULES.get(implant.type_id)
    if rule is None:
        return SceneLayout([], note=f"no in-situ scene rule for {implant.type_id} yet: implant shown alone",
                           figure=FIGURES.get(implant.type_id, "")), False
    layout = rule(implant)
    layout.figure = layout.figure or FIGURES.get(implant.type_id, "")
    return layout, True

"""Anatomy: packaged real and generated bones (C0 to pelvis), endplates, disc spaces, morphing, the assembled spine.

``implants.anatomy.load("L4")`` returns a packaged real vertebra (patient frame, mm);
``implants.anatomy.catalogue()`` lists every packaged level with its source and licence.
"""

from .packaged import LEVELS, catalogue, load

__all__ = ["LEVELS", "catalogue", "load"]

"""Printable teaching demonstrators (layer: demonstrator): an implant with the vertebrae it fits, on a labelled base.

:func:`~implants.demonstrator.build.build_demonstrator` makes the parts (implant, vertebrae, base with
posts, pegs and an embossed label), orients each for printing and lays them out on a build plate;
:func:`~implants.demonstrator.write.write_demonstrator` writes the 3MF, STLs and pictures;
:func:`~implants.demonstrator.printability.printability_check` names the holes and walls of an implant
that would not print at a scale. NOT A MEDICAL DEVICE: the demonstrator is a teaching model.
"""

from .build import build_demonstrator
from .model import Demonstrator, Part
from .printability import printability_check
from .write import write_demonstrator

__all__ = ["Demonstrator", "Part", "build_demonstrator", "printability_check", "write_demonstrator"]

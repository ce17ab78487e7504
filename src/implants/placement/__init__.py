"""Placement (layer: placement): where each implant type sits against which bones, for scenes and demonstrators."""

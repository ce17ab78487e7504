"""Patient-specific fitting (layer: fit): implants fitted to real bone meshes.

* congruent interbody cages: :mod:`.congruence` (entry points), :mod:`.cage_placement`,
  :mod:`.cage_fields`, :mod:`.cage_build`, :mod:`.cage_contact`;
* vertebral body replacement (corpectomy column): :mod:`.column`;
* upper cervical: :mod:`.cervical_docking` with :mod:`.docking_saddle`, :mod:`.transarticular`,
  their bone contact measures :mod:`.cervical_measures`;
* contoured anterior plates: :mod:`.anterior_surface` (entry points), :mod:`.surface_points`,
  :mod:`.surface_fit`, :mod:`.plate_report`;
* shared: :mod:`.inputs` (meshes, input records), :mod:`.footprint`, :mod:`.facing_surface`,
  :mod:`.kernel` (the template build under the error contract).
"""

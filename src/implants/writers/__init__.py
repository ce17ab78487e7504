"""Writers (layer: mesh & export writers): STEP bytes, the one tessellation, STL/3MF/GLB bytes, the
manifest and the atomic group write. They check nothing and build nothing: :mod:`implants.pipeline`
strings build → tessellate → check → write together."""

"""Writers (layer: writers): what an export may be asked for, STEP bytes, the one tessellation and
its repair, STL/3MF/GLB bytes, the manifest and the atomic group write. They check nothing and
build nothing: :mod:`implants.pipeline` strings build → tessellate → check → write together."""

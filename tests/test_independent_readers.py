"""Independent readers of every preset's exported files (slow tier; robustness issue, item 3).

* STEP re-read with gmsh (its own bundled OpenCASCADE, in a separate process so the two OCCT
  builds never share one address space): total volume within 0.5 % of the B-rep volume.
* STL through the PrusaSlicer command line (``prusa-slicer --info``): ``manifold = yes`` and
  the volume of the checked mesh (a slicer's exit code alone proves nothing).
* 3MF read back with lib3mf in strict mode: no warnings, one object per body, each manifold and
  oriented, unit millimetre, the triangle count of the checked mesh.

Types and presets come from the registry. Only the PrusaSlicer test skips, when its binary is absent.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import implants

pytestmark = pytest.mark.slow

PRESETS = [(t.type_id, preset) for t in implants.templates() for preset in t.presets]
IDS = [f"{t}:{p}" for t, p in PRESETS]
STEP_VOLUME_TOL = 0.005

_EXPORTS: dict[tuple[str, str], tuple[Path, dict]] = {}


@pytest.fixture(scope="module")
def exports_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readers")


def exported(root: Path, type_id: str, preset: str) -> tuple[dict[str, Path], dict]:
    """Build and export a preset once per module: paths (step, stl, 3mf) and the manifest."""
    key = (type_id, preset)
    if key not in _EXPORTS:
        implant = implants.build(type_id, preset=preset)
        result = implants.export(implant, root / f"{type_id}-{preset}", formats=("step", "stl", "3mf"))
        _EXPORTS[key] = (result.paths, result.manifest)
    return _EXPORTS[key]


_GMSH_VOLUME = r"""
import json, sys
import gmsh
gmsh.initialize(["-noenv"], readConfigFiles=False)
gmsh.option.setNumber("General.Terminal", 0)
gmsh.option.setString("Geometry.OCCTargetUnit", "MM")
entities = gmsh.model.occ.importShapes(sys.argv[1])
gmsh.model.occ.synchronize()
volumes = [tag for dim, tag in gmsh.model.getEntities(3)]
print(json.dumps({"solids": len(volumes), "volume": sum(gmsh.model.occ.getMass(3, t) for t in volumes)}))
gmsh.finalize()
"""


def gmsh_volume(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _GMSH_VOLUME, str(path)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("type_id,preset", PRESETS, ids=IDS)
def test_step_volume_in_gmsh(exports_root, type_id, preset):
    paths, manifest = exported(exports_root, type_id, preset)
    read = gmsh_volume(paths["step"])
    expected = manifest["volume_mm3"]
    delta = (read["volume"] - expected) / expected
    print(f"gmsh {type_id}:{preset} solids={read['solids']} volume={read['volume']:.3f} "
          f"brep={expected:.3f} delta={100 * delta:+.4f} %")
    assert read["solids"] == manifest["bodies"]
    assert abs(delta) <= STEP_VOLUME_TOL


PRUSA = shutil.which("prusa-slicer")


def prusa_info(path: Path) -> dict[str, str]:
    done = subprocess.run([PRUSA, "--info", str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(re.findall(r"^(\w+) = (.*?)\s*$", done.stdout, flags=re.M))


@pytest.mark.skipif(PRUSA is None, reason="prusa-slicer is not installed (apt-get install prusa-slicer)")
@pytest.mark.parametrize("type_id,preset", PRESETS, ids=IDS)
def test_stl_manifold_in_prusaslicer(exports_root, type_id, preset):
    paths, manifest = exported(exports_root, type_id, preset)
    info = prusa_info(paths["stl"])
    volume = float(info["volume"])
    expected = manifest["checks"]["mesh"]["volume_mm3"]
    print(f"prusa {type_id}:{preset} manifold={info.get('manifold')} parts={info.get('number_of_parts')} "
          f"volume={volume:.3f} mesh={expected:.3f}")
    assert info.get("manifold") == "yes", info
    assert int(info["number_of_facets"]) == manifest["tessellation"]["triangles"]
    assert int(info["number_of_parts"]) == manifest["bodies"]
    assert volume == pytest.approx(expected, rel=1e-4)  # float32 STL coordinates against the float64 mesh


def lib3mf_read(path: Path) -> dict:
    import lib3mf

    wrapper = lib3mf.get_wrapper()
    model = wrapper.CreateModel()
    reader = model.QueryReader("3mf")
    reader.SetStrictModeActive(True)
    reader.ReadFromFile(str(path))  # raises lib3mf.ELib3MFException on any error
    warnings = [reader.GetWarning(i) for i in range(reader.GetWarningCount())]
    objects = []
    iterator = model.GetMeshObjects()
    while iterator.MoveNext():
        mesh = iterator.GetCurrentMeshObject()
        objects.append({"name": mesh.GetName(), "triangles": mesh.GetTriangleCount(),
                        "manifold_oriented": mesh.IsManifoldAndOriented()})
    items = model.GetBuildItems()
    n_items = 0
    while items.MoveNext():
        n_items += 1
    return {"warnings": warnings, "objects": objects, "items": n_items, "unit": model.GetUnit()}


@pytest.mark.parametrize("type_id,preset", PRESETS, ids=IDS)
def test_3mf_strict_lib3mf(exports_root, type_id, preset):
    import lib3mf

    paths, manifest = exported(exports_root, type_id, preset)
    read = lib3mf_read(paths["3mf"])
    print(f"lib3mf {type_id}:{preset} objects={len(read['objects'])} warnings={len(read['warnings'])}")
    assert read["warnings"] == []
    assert read["unit"] == lib3mf.ModelUnit.MilliMeter
    assert len(read["objects"]) == read["items"] == manifest["bodies"]
    assert all(o["manifold_oriented"] for o in read["objects"]), read["objects"]
    assert sum(o["triangles"] for o in read["objects"]) == manifest["tessellation"]["triangles"]

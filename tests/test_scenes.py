"""In-situ scenes for every registered type (review Figs. 4–11): a rule per type, a GLB with bone and implant
in distinct colours, contact faces on the bone they bear on, a non-blank PNG. Each type is built once."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import trimesh

from implants.writers.tessellate import Tessellation, feature_mask
from implants.registry import get, type_ids
from implants.placement import poses, rules
from implants.render import scenes
from implants.render.items import mesh_of_shape


@functools.cache
def implant(type_id: str):
    template = get(type_id)
    return template.build(template.make_params())


@functools.cache
def written(type_id: str, out: str):
    return scenes.write_scene(implant(type_id), out)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return str(tmp_path_factory.mktemp("scenes"))


def contact_points(imp, name: str, n: int = 60) -> np.ndarray:
    """Up to ``n`` triangle centres of the surface feature ``name`` (implant frame = scene frame)."""
    mesh, face_index = mesh_of_shape(imp.shape, poses.PLACEMENT_DEFLECTION_MM)
    tess = Tessellation(mesh=mesh, face_index=face_index, deflection_mm=poses.PLACEMENT_DEFLECTION_MM)
    centres = mesh.triangles_center[feature_mask(tess, imp.shape, imp.features[name])]
    assert len(centres), name
    return centres[np.linspace(0, len(centres) - 1, min(n, len(centres))).astype(int)]


def test_every_registered_type_has_a_rule_and_figure():
    assert set(type_ids()) <= set(rules.SCENE_RULES)
    assert {rules.FIGURES[t] for t in type_ids()} == {f"Fig. {k}" for k in range(4, 12)}


@pytest.mark.parametrize("type_id", type_ids())
def test_scene_glb_png(type_id, out):
    result = written(type_id, out)
    assert result.has_rule and result.figure == rules.FIGURES[type_id] and result.note
    loaded = trimesh.load(result.glb)
    bones = [g for name, g in loaded.geometry.items() if name.startswith("bone.")]
    implants = [g for name, g in loaded.geometry.items() if name == type_id]
    assert len(bones) >= 1 and len(implants) == 1 and len(loaded.geometry) >= 2
    colour = lambda g: tuple(np.asarray(g.visual.material.baseColorFactor[:3], float))  # noqa: E731
    assert colour(implants[0]) not in {colour(b) for b in bones}
    # non-blank PNG: a good share of pixels differ from the background, with several distinct colours
    from PIL import Image

    pixels = np.asarray(Image.open(result.png).convert("RGB"), float)
    corner = pixels[5, -5]
    assert (np.abs(pixels - corner).sum(axis=2) > 40).mean() > 0.03
    assert len(np.unique(pixels.reshape(-1, 3)[::37], axis=0)) > 50


@pytest.mark.parametrize("type_id", type_ids())
def test_no_gross_interpenetration(type_id):
    """Fewer than 3 % of the implant's vertices lie inside an opaque bone (seats and flanges may touch)."""
    imp = implant(type_id)
    layout, _ = rules.layout_for(imp)
    mesh = poses.implant_mesh(imp)
    inside = np.zeros(len(mesh.vertices), bool)
    for bone in layout.bones:
        if bone.opacity == 1.0:
            inside |= bone.mesh.contains(mesh.vertices)
    assert inside.mean() < 0.03


#: (type, contact feature, bone it bears on, nearest sampled point allowed mm, median allowed mm); the
#: nearest sample is a triangle centre, so a face touching at one point may read a little above 0
CONTACTS = [
    ("interbody-cage", "contact.superior", "L4", 0.5, 1.0),
    ("interbody-cage", "contact.inferior", "L5", 0.5, 1.0),
    ("vertebral-body-replacement", "contact.superior", "C4", 0.5, 1.0),
    ("vertebral-body-replacement", "contact.inferior", "C6", 0.5, 1.0),
    # C3's synthetic uncinate processes stand 1.3 mm above its rim under the 16 mm wide base: it rests on them
    ("upper-cervical-docking", "contact.inferior", "C3", 1.0, 2.0),
    ("upper-cervical-docking", "docking.c1", "C1", 1.0, 4.0),
    ("bridge-strut", "contact.superior", "C6", 0.5, 2.0),
    ("bridge-strut", "contact.inferior", "T11", 0.5, 2.0),
    ("distraction-spacer", "contact.interbody.superior", "C4", 1.0, 2.0),
    ("distraction-spacer", "contact.interbody.inferior", "C5", 1.0, 2.0),
    ("c1c2-transarticular-template", "contact.arch", "C1", 0.5, 3.0),
    ("anterior-plate", "contact.posterior", "C4+C5+C6", 0.5, 2.0),  # over the three bodies it spans
]


@pytest.mark.parametrize("type_id,feature,level,nearest,median", CONTACTS)
def test_contact_faces_lie_on_their_bone(type_id, feature, level, nearest, median):
    imp = implant(type_id)
    layout, _ = rules.layout_for(imp)
    meshes = {b.name: b.mesh for b in layout.bones}
    bone = trimesh.util.concatenate([meshes[name] for name in level.split("+")])
    _, distance, _ = trimesh.proximity.closest_point(bone, contact_points(imp, feature))
    assert distance.min() < nearest      # touching somewhere
    assert np.median(distance) < median  # and bearing over the face, not standing off


def test_removed_levels_omitted_and_bridged_levels_faint():
    vbr, _ = rules.layout_for(implant("vertebral-body-replacement"))
    assert [b.name for b in vbr.bones] == ["C4", "C6"]
    bridge, _ = rules.layout_for(implant("bridge-strut"))
    faint = {b.name for b in bridge.bones if b.opacity < 1}
    assert {"C7", "T10"} <= faint and not {"C6", "T11"} & faint


def test_monolithic_scene_has_pelvis_proxy():
    layout, _ = rules.layout_for(implant("monolithic"))
    names = [b.name for b in layout.bones]
    assert {"L4", "L5", "S1", "ilium.left", "ilium.right"} <= set(names)
    wing = {b.name: b.mesh for b in layout.bones}["ilium.left"]
    assert wing.is_watertight and wing.bounds[0, 1] > 30  # lateral of the sacrum, patient-left
    # the iliac seats' screw entries (ring bottom) lie within a few mm of the wing
    imp = implant("monolithic")
    entries = [np.asarray(f.origin) + imp.params.seat_height_mm * np.asarray(f.direction)
               for f in imp.features.values() if f.name.startswith("seat.") and abs(f.origin[1]) > 30]
    _, distance, _ = trimesh.proximity.closest_point(wing, np.array(entries))
    assert len(entries) == 2 and distance.max() < 5.0


def test_settle_moves_until_touching():
    fixed = trimesh.creation.box(extents=(10, 10, 2))
    moving = trimesh.creation.box(extents=(4, 4, 4)).apply_translation((0, 0, 20))
    moved = poses.settle([moving], fixed, (0, 0, -1))
    assert moved == pytest.approx(17.0, abs=1e-6) and moving.bounds[0, 2] == pytest.approx(1.0, abs=1e-6)
    assert poses.settle([moving.copy().apply_translation((50, 0, 0))], fixed, (0, 0, -1)) == 0.0

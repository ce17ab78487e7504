"""Headless pictures and in-situ scenes: PNG written, right size, not blank, implant pixels in every view."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import trimesh
from typer.testing import CliRunner

from implants.errors import ParameterError
from implants.registry import get, type_ids
from implants.placement import rules
from implants.render import pictures, scenes
from implants.render.pictures import png_pixels


@functools.cache
def cage(preset: str = "lumbar-alif-screws"):
    template = get("interbody-cage")
    return template.build(template.make_params(preset))


def object_fraction(path) -> float:
    """Share of pixels that differ from the background (the vertical gradient, read in column 1)."""
    pixels = png_pixels(path)[..., :3].astype(float)
    background = pixels[:, 1:2, :]
    return float((np.abs(pixels - background).sum(axis=2) > 40).mean())


def orange_fraction(path) -> float:
    pixels = png_pixels(path)[..., :3].astype(int)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return float(((r > 150) & (r - b > 80) & (g < r - 30)).mean())


@pytest.mark.parametrize("view", pictures.VIEW_NAMES)
def test_each_view_has_implant_pixels(tmp_path, view):
    stats = pictures.render_implant(cage(), tmp_path, view=view, highlight=True, size=(400, 300))
    (path,) = stats.paths
    assert path.name == f"interbody-cage_{view}.png"
    pixels = png_pixels(path)
    assert pixels.shape[:2] == (300, 400)
    assert pixels[..., :3].std() > 10  # not blank
    fraction = object_fraction(path)
    assert 0.03 < fraction < 0.9, fraction  # the implant fills a fair part of the frame (margin 12 %)
    if view in ("superior", "iso"):
        assert orange_fraction(path) > 0.01  # highlighted contact face seen from above


def test_highlight_draws_contact_faces_and_screw_axes(tmp_path):
    plain = pictures.render_implant(cage(), tmp_path / "plain.png", view="superior").paths[0]
    lit = pictures.render_implant(cage(), tmp_path / "lit.png", view="superior", highlight=True).paths[0]
    assert orange_fraction(plain) < 0.001 < orange_fraction(lit)
    items, axes = pictures.implant_items(cage(), highlight=True)
    screws = [f for f in cage().features.values() if f.name.startswith("screw")]
    assert len(axes) == len(screws) == 3
    for axis, screw in zip(axes, screws):
        direction = np.subtract(axis.end, axis.start)
        assert np.allclose(direction / np.linalg.norm(direction), screw.direction, atol=1e-9)


def test_sheet_of_all_views_is_one_png(tmp_path):
    stats = pictures.render_implant(cage(), tmp_path / "all.png", view="all")
    assert [p.name for p in stats.paths] == ["all.png"]
    assert png_pixels(stats.paths[0]).shape[:2] == (1200, 1600)
    assert set(stats.seconds) == {"sheet"}


def test_render_file_and_render_meshes(tmp_path):
    box = trimesh.creation.box(extents=(30, 20, 10))
    stl = tmp_path / "box.stl"
    box.export(stl)
    out = pictures.render_file(stl, tmp_path / "box.png", view="anterior", size=(320, 240)).paths[0]
    assert png_pixels(out).shape[:2] == (240, 320) and object_fraction(out) > 0.05
    scene = pictures.render_meshes([(box, (200, 50, 50)), (box.copy().apply_translation((0, 0, 20)), (0.2, 0.2, 0.9))],
                                   tmp_path / "scene.png", view="lateral")
    pixels = png_pixels(scene)[..., :3].astype(int)
    assert ((pixels[..., 0] - pixels[..., 2]) > 60).mean() > 0.01  # red box
    assert ((pixels[..., 2] - pixels[..., 0]) > 60).mean() > 0.01  # blue box


def test_scale_bar_length_is_round():
    assert [pictures.nice_length(v) for v in (0.7, 1.0, 3.9, 7.5, 19.0, 140.0)] == [0.5, 1.0, 2.0, 5.0, 10.0, 100.0]


def test_bad_input(tmp_path):
    with pytest.raises(ParameterError, match="--view"):
        pictures.render_implant(cage(), tmp_path / "x.png", view="top")
    with pytest.raises(ParameterError, match="does not exist"):
        pictures.render_file(tmp_path / "missing.stl", tmp_path / "x.png")
    (tmp_path / "junk.stl").write_bytes(b"not a mesh")
    with pytest.raises(ParameterError, match="junk.stl"):
        pictures.render_file(tmp_path / "junk.stl", tmp_path / "x.png")
    with pytest.raises(ParameterError, match="picture size"):
        pictures.render_items([pictures.MeshItem(trimesh.creation.box())], tmp_path / "x.png", size=(10, 10))


def test_picture_for_manifest(tmp_path):
    path = pictures.picture_for_manifest(cage(), tmp_path)
    assert path == tmp_path / "interbody-cage.png" and png_pixels(path).shape[:2] == (600, 800)


def test_cage_scene_sits_between_two_vertebrae(tmp_path):
    result = scenes.write_scene(cage("lumbar-alif"), tmp_path)
    assert result.has_rule and result.figure == "Fig. 6" and "L4" in result.note
    loaded = trimesh.load(result.glb)
    names = set(loaded.geometry)
    assert {"interbody-cage", "bone.L4", "bone.L5"} <= names
    # glTF is +y up: the upper vertebra (L4) lies above the cage, L5 below
    y = {}
    for node in loaded.graph.nodes_geometry:
        transform, geometry = loaded.graph[node]
        y[geometry] = loaded.geometry[geometry].copy().apply_transform(transform).bounds[:, 1].mean()
    assert y["bone.L5"] < y["interbody-cage"] < y["bone.L4"]
    h = cage("lumbar-alif").params.height_mm
    layout, _ = rules.layout_for(cage("lumbar-alif"))
    l4, l5 = layout.bones
    body = lambda mesh: mesh.vertices[np.abs(mesh.vertices[:, 0]) < 5.0]  # noqa: E731 (the body, not the arch)
    assert body(l4.mesh)[:, 2].min() == pytest.approx(h / 2, abs=0.5)  # L4 inferior endplate on the cage top
    assert body(l5.mesh)[:, 2].max() == pytest.approx(-h / 2, abs=0.5)  # L5 superior endplate under it
    assert object_fraction(result.png) > 0.1


def test_type_without_rule_falls_back_to_implant_alone(tmp_path, monkeypatch):
    monkeypatch.delitem(rules.SCENE_RULES, "interbody-cage")
    result = scenes.write_scene(cage("lumbar-alif"), tmp_path, glb=True, png=False)
    assert not result.has_rule and "no in-situ scene rule" in result.note
    assert set(trimesh.load(result.glb).geometry) == {"interbody-cage"}


def test_every_rule_is_a_registered_or_planned_type():
    assert set(rules.SCENE_RULES) <= set(type_ids()) | set(rules.FIGURES)


def test_cli_render(tmp_path):
    from implants.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["render", "interbody-cage", "--preset", "cervical-acdf", "--set", "height_mm=7",
                                 "--view", "all", "--highlight", "--out", str(tmp_path / "views")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "views").iterdir()) == sorted(
        f"interbody-cage_{v}.png" for v in pictures.VIEW_NAMES)
    bad = runner.invoke(app, ["render", "interbody-cage", "--set", "height_mm=99", "--out", str(tmp_path / "x.png")])
    assert bad.exit_code == 3


def test_cli_scene_defaults_to_the_view_its_rule_names(tmp_path):
    from implants.cli import app

    # the transarticular template's rule looks from behind (its guide tubes sit on the posterior arches)
    result = CliRunner().invoke(app, ["render", "c1c2-transarticular-template", "--scene", "--width", "160",
                                      "--height", "120", "--out", str(tmp_path / "scene")])
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "scene").iterdir()] == ["c1c2-transarticular-template_scene_posterior-iso.png"]

"""VTK actors of a picture (layer: render): mesh items as smooth-shaded polydata, axes as thin
tubes, the light kit and text labels.

VTK is imported inside the functions (a heavy dependency only pictures need): importing this
module stays cheap.
"""

from __future__ import annotations

import numpy as np

from .items import Axis, MeshItem


def polydata(item: MeshItem):
    """The item's mesh as ``vtkPolyData`` with per-cell colours (if any) and split normals:
    smooth shading on curved faces, crisp edges at corners sharper than 35°."""
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray

    mesh = item.mesh
    points = vtk.vtkPoints()
    points.SetData(numpy_to_vtk(np.ascontiguousarray(mesh.vertices, dtype=np.float64), deep=True))
    faces = np.asarray(mesh.faces, dtype=np.int64)
    offsets = np.arange(0, 3 * len(faces) + 1, 3, dtype=np.int64)
    cell_array = vtk.vtkCellArray()
    cell_array.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                       numpy_to_vtkIdTypeArray(np.ascontiguousarray(faces.ravel()), deep=True))
    poly = vtk.vtkPolyData()
    poly.SetPoints(points)
    poly.SetPolys(cell_array)
    if item.face_colours is not None:
        rgb = np.clip(np.asarray(item.face_colours) * 255.0, 0, 255).astype(np.uint8)
        colours = numpy_to_vtk(np.ascontiguousarray(rgb), deep=True)
        colours.SetName("colours")
        poly.GetCellData().SetScalars(colours)
    normals = vtk.vtkPolyDataNormals()
    normals.SetInputData(poly)
    normals.SetFeatureAngle(35.0)
    normals.SplittingOn()
    normals.ConsistencyOff()
    normals.AutoOrientNormalsOff()
    normals.Update()
    return normals.GetOutput()


def mesh_actor(item: MeshItem):
    """A ``vtkActor`` of a mesh item (its colour or face colours, opacity, a soft specular)."""
    import vtk

    mapper = vtk.vtkPolyDataMapper()
    mapper.SetInputData(polydata(item))
    if item.face_colours is not None:
        mapper.SetScalarModeToUseCellData()
        mapper.SetColorModeToDirectScalars()
        mapper.ScalarVisibilityOn()
    else:
        mapper.ScalarVisibilityOff()
    actor = vtk.vtkActor()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetColor(*item.colour)
    prop.SetAmbient(0.2)
    prop.SetDiffuse(0.8)
    prop.SetSpecular(0.25)
    prop.SetSpecularPower(30.0)
    prop.SetOpacity(item.opacity)
    return actor


def axis_actor(axis: Axis):
    """A ``vtkActor`` of an axis: a capped 16-sided tube of radius ``axis.radius_mm``."""
    import vtk

    line = vtk.vtkLineSource()
    line.SetPoint1(*map(float, axis.start))
    line.SetPoint2(*map(float, axis.end))
    tube = vtk.vtkTubeFilter()
    tube.SetInputConnection(line.GetOutputPort())
    tube.SetRadius(axis.radius_mm)
    tube.SetNumberOfSides(16)
    tube.CappingOn()
    mapper = vtk.vtkPolyDataMapper()
    mapper.SetInputConnection(tube.GetOutputPort())
    actor = vtk.vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*axis.colour)
    actor.GetProperty().SetAmbient(0.3)
    return actor


def add_lights(renderer) -> None:
    """The same light kit in every picture."""
    import vtk

    kit = vtk.vtkLightKit()
    kit.SetKeyLightIntensity(0.85)
    kit.AddLightsToRenderer(renderer)


def add_text(renderer, text: str, x: int, y: int, size: int, right: bool = False,
             colour=(0.35, 0.35, 0.35)) -> None:
    """A text label at viewport pixel (``x``, ``y``) (its right end there when ``right``)."""
    import vtk

    actor = vtk.vtkTextActor()
    actor.SetInput(text)
    prop = actor.GetTextProperty()
    prop.SetFontSize(size)
    prop.SetColor(*colour)
    if right:
        prop.SetJustificationToRight()
    actor.GetPositionCoordinate().SetCoordinateSystemToViewport()
    actor.SetPosition(x, y)
    renderer.AddViewProp(actor)

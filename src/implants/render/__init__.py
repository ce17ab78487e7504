"""Pictures, in-situ scenes and the offline gallery (layer: render); VTK is imported only when drawing."""

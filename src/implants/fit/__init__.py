"""Patient-specific fitting (layer: fit): implants fitted to real bone meshes: congruent cage faces,
fitted docking saddles and templates, column (VBR) ends, contoured anterior plates."""

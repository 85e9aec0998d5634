"""Importers: Sloth and OpenSLO files translated into our model, never silently dropped."""

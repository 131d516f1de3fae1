"""Pure computation: networks, walking costs, travel times, the run's searches, isochrones, grids,
coverage, neighbourhood units, standards, capacity and siting. No file formats, no drawing; no
import of the data layers (record types for hints only)."""

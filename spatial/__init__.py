"""Computation: pure functions over the walking network, grids and tables (no file reading, no
drawing; no import of the data layers, record types for hints only).

Modules
-------
network
    The walking network (:class:`~lifecircle.spatial.network.WalkNetwork`) in a metric CRS.
area
    The study area: its metric CRS and its polygon.
costs
    Seconds to walk each edge at a flat speed.
terrain
    Terrain-aware costs: slopes, stairs, elevators and escalators, per walking profile.
travel
    Walking times from origins to the nearest facility; locating points on the network.
access
    The run's two searches: minutes from every cell to the nearest facility, and isochrones.
scenarios
    Who reaches what under other walkers: population groups and the cost of the terrain.
grid
    Square analysis grids over a study area.
population
    People per grid cell, and the stated fallback weights without a population input.
units
    Neighbourhood units derived from roads, rivers and the boundary.
coverage
    Under-served cells and what each community has and lacks.
isochrones
    The area within a walking time of a facility, from the network itself.
standards
    Communities scored against a planning standard, tier by tier.
capacity
    Supply-to-demand accessibility (enhanced two-step floating catchment).
siting
    Where to put the next facilities (greedy maximal covering).
"""

"""Data in: reading, cleaning and validating inputs (no graph computation).

Modules
-------
osm
    OpenStreetMap files: walkable ways and tagged features.
download
    OpenStreetMap data by place name or bounding box through osmnx (online, cached).
sample
    The bundled default sample.
catalogue
    The facility categories (``categories.yaml``): rules, labels, colours, defaults.
facilities
    The run's facilities: catalogue matches in OSM features or a user's own facilities file.
features
    Selections from OSM features by their tags: water, named places, buildings.
communities
    Community and study-area boundaries.
population
    Resident-population inputs: points, rasters or polygons with totals.
elevation
    Digital elevation models.
profiles
    Walking profiles (``profiles.yaml``): who walks, how fast, what they cannot use.
standards
    Planning standards as data (``standards_gb50180.yaml``).
chinese_coords
    GCJ-02 and BD-09 coordinates of Chinese web maps.
_columns
    Longitude/latitude column names recognised in user tables.
"""

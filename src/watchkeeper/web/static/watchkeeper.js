/* Watchkeeper's page behaviour, served from the package so the Content-Security-Policy can
   forbid inline script (docs/security.md). Pages describe what they want with data attributes:
   - data-fill="42.5"                      a bar filled to that percentage (no inline style);
   - data-chart='{"labels":…,"data":…}'    a uPlot chart; data-chart-kind="latency" or "burn". */
(function () {
  "use strict";
  var COLORS = ["#1f5fbf", "#a15c00", "#1b7f3b", "#6b4fa0", "#b42318"];

  function latency(el, c) {
    var series = [{}].concat(c.labels.map(function (l, i) {
      return { label: l === "*" ? "latency" : l, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false,
               value: function (u, v) { return v == null ? "—" : v.toFixed(1) + " ms"; } };
    }));
    return { width: el.clientWidth - 16, height: 240, series: series,
             axes: [{}, { label: "ms", values: function (u, vals) { return vals.map(function (v) { return v + " ms"; }); } }] };
  }

  function burn(el) {
    return { width: el.clientWidth - 16, height: 240,
             series: [{}, { label: "burn rate", stroke: "#b42318", width: 1.5 },
                      { label: "1× (budget pace)", stroke: "#667085", dash: [4, 4], width: 1 }],
             axes: [{}, { label: "× budget" }] };
  }

  var KINDS = { latency: latency, burn: burn };

  function charts() {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var c = JSON.parse(el.dataset.chart);
      var kind = KINDS[el.dataset.chartKind];
      if (!kind || typeof uPlot === "undefined") { return; }
      if (!c.data[0].length) { el.textContent = el.dataset.empty || "No data in this range yet."; return; }
      new uPlot(kind(el, c), c.data, el);
    });
  }

  function fills() {
    document.querySelectorAll("[data-fill]").forEach(function (el) {
      var pct = Math.max(0, Math.min(100, parseFloat(el.dataset.fill) || 0));
      el.style.width = pct + "%";
    });
  }

  function ready() { fills(); charts(); }
  // Deferred scripts run before DOMContentLoaded, in document order: uPlot (deferred in the
  // page body) is only there once the whole document has been parsed and its scripts have run.
  if (document.readyState === "complete") { ready(); } else { document.addEventListener("DOMContentLoaded", ready); }
})();

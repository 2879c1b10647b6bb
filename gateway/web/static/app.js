// meterkit web page: refreshes current values and draws history plots with uPlot.
// No inline scripts: the page's Content-Security-Policy allows this file only.
"use strict";

(function () {
  const body = document.body;
  const refreshMs = 1000 * Number(body.dataset.refreshSeconds || 5);

  function refreshValues() {
    const rows = document.querySelectorAll("tr[data-point]");
    if (rows.length === 0 && !document.getElementById("values")) return;
    fetch("/api/current", {credentials: "same-origin"})
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((points) => {
        const byName = new Map();
        rows.forEach((row) => byName.set(row.dataset.point, row));
        let unknown = false;
        for (const p of points) {
          const row = byName.get(p.point);
          if (!row) { unknown = true; continue; }
          row.querySelector(".value").textContent = p.value;
          row.querySelector(".unit").textContent = p.unit;
          const quality = row.querySelector(".quality");
          if (p.quality.length) quality.textContent = p.quality.join(" ");
          row.querySelector(".age").textContent = p.age_s + " s";
        }
        body.dataset.updates = String(Number(body.dataset.updates || 0) + 1);
        if (unknown) window.location.reload();  // a new point appeared: render it
      })
      .catch(() => { body.dataset.refreshFailed = "1"; });
  }

  function drawChart(chart) {
    const query = new URLSearchParams({point: chart.dataset.point, range: chart.dataset.range});
    fetch("/api/series?" + query.toString(), {credentials: "same-origin"})
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((series) => {
        if (series.times.length === 0) {
          chart.textContent = chart.dataset.noData;
          chart.dataset.points = "0";
          return;
        }
        const options = {
          width: Math.max(320, chart.clientWidth || 800),
          height: 360,
          series: [{}, {label: series.point + " [" + series.unit + "]", stroke: "#1f6feb",
                        width: 2, points: {show: true, size: 5}}],
          axes: [{}, {label: series.unit}],
          hooks: {draw: [(u) => { chart.dataset.points = String(u.data[1].length); }]},
        };
        new uPlot(options, [series.times, series.values], chart);
      })
      .catch(() => { chart.dataset.failed = "1"; });
  }

  const chart = document.getElementById("chart");
  if (chart) drawChart(chart);
  if (document.getElementById("values")) setInterval(refreshValues, refreshMs);
})();

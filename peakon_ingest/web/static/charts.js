"use strict";
// The trend charts: each `.echart` holds its numbers in `data-chart` ({labels, series: {name: values}},
// written by the server, the same numbers as the table beside it); the vendored ECharts draws them.
// SVG renderer and rich-text tooltips: ECharts' HTML tooltips write style attributes, which the
// page's Content-Security-Policy (no inline style) refuses.
(function () {
  const COLOURS = ["#1f77b4", "#b35806", "#2c7a2c", "#8e2c8e", "#555555", "#a50026"];  // the series in turn (contrast on white >= 4.5)

  function draw(element) {
    const data = JSON.parse(element.dataset.chart);
    const names = Object.keys(data.series);
    const percent = element.dataset.unit === "percent";  // a share drawn as 0-1, labelled in %
    const chart = echarts.init(element, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      color: COLOURS,
      grid: { left: 8, right: 28, top: names.length > 1 ? 48 : 20, bottom: 8, containLabel: true },
      legend: names.length > 1 ? { type: "scroll", top: 0 } : { show: false },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", data: data.labels, boundaryGap: false },
      yAxis: { type: "value", scale: true, axisLabel: percent ? { formatter: (v) => Math.round(100 * v) + "%" } : {} },
      series: names.map((name) => ({ name: name, type: "line", data: data.series[name], connectNulls: false,
                                     symbolSize: 6 })),
    });
    return chart;
  }

  const charts = [...document.querySelectorAll(".echart[data-chart]")].map(draw);
  window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));
  document.body.dataset.charts = "ready";
})();

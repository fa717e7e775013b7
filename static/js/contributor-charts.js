// Draws the two charts of the staff contributors page from the data the page embeds
// with json_script; the tables below the charts carry the same figures. Every word on
// the charts comes from the canvases' data- attributes, which the page writes in the
// reader's language; numbers follow the page's language and right-to-left pages mirror.
(function () {
  var data = JSON.parse(document.getElementById("contributor-chart-data").textContent);
  if (typeof Chart === "undefined") { return; }
  var root = document.documentElement;
  var rtl = root.dir === "rtl";
  Chart.defaults.animation = false;
  Chart.defaults.locale = root.lang || "en";
  Chart.defaults.plugins.legend.rtl = rtl;
  Chart.defaults.plugins.tooltip.rtl = rtl;
  var optOut = document.getElementById("opt-out-chart");
  var words = optOut.dataset;
  // The time axis runs right to left on a right-to-left page, and the axes swap sides with it.
  var start = rtl ? "right" : "left", end = rtl ? "left" : "right";
  new Chart(optOut, {
    data: {
      labels: data.months,
      datasets: [
        {type: "line", label: words.rateLabel, data: data.rate, yAxisID: "rate", borderColor: "#b91c1c", backgroundColor: "#b91c1c", tension: 0},
        {type: "bar", label: words.optOutsLabel, data: data.opt_outs, yAxisID: "count", backgroundColor: "#f59e0b"},
        {type: "bar", label: words.optInsLabel, data: data.opt_ins, yAxisID: "count", backgroundColor: "#15803d"}
      ]
    },
    options: {
      plugins: {title: {display: true, text: words.title}},
      scales: {
        x: {reverse: rtl},
        rate: {type: "linear", position: start, beginAtZero: true, title: {display: true, text: words.rateAxis}},
        count: {type: "linear", position: end, beginAtZero: true, grid: {drawOnChartArea: false}, ticks: {precision: 0}, title: {display: true, text: words.countAxis}}
      }
    }
  });
  var royalties = document.getElementById("royalties-chart");
  var labels = royalties.dataset;
  var colours = ["#1d4ed8", "#7c3aed", "#0f766e", "#b45309"];
  var sets = [];
  data.royalties.forEach(function (series, i) {
    var colour = colours[i % colours.length];
    sets.push({type: "bar", label: labels.creditedLabel.replace("{currency}", series.currency), data: series.net, backgroundColor: colour});
    sets.push({type: "line", label: labels.paidLabel.replace("{currency}", series.currency), data: series.paid, borderColor: colour, backgroundColor: colour, borderDash: [6, 4]});
  });
  new Chart(royalties, {
    data: {labels: data.months, datasets: sets},
    options: {plugins: {title: {display: true, text: labels.title}}, scales: {x: {reverse: rtl}, y: {beginAtZero: true, position: start}}}
  });
})();

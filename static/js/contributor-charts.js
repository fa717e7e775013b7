// Draws the two charts of the staff contributors page from the data the page embeds
// with json_script; the tables below the charts carry the same figures.
(function () {
  var data = JSON.parse(document.getElementById("contributor-chart-data").textContent);
  if (typeof Chart === "undefined") { return; }
  Chart.defaults.animation = false;
  new Chart(document.getElementById("opt-out-chart"), {
    data: {
      labels: data.months,
      datasets: [
        {type: "line", label: "Opted out (%)", data: data.rate, yAxisID: "rate", borderColor: "#b91c1c", backgroundColor: "#b91c1c", tension: 0},
        {type: "bar", label: "Opt-outs", data: data.opt_outs, yAxisID: "count", backgroundColor: "#f59e0b"},
        {type: "bar", label: "Opt-ins", data: data.opt_ins, yAxisID: "count", backgroundColor: "#15803d"}
      ]
    },
    options: {
      plugins: {title: {display: true, text: "Opt-out rate and changes of choice"}},
      scales: {
        rate: {type: "linear", position: "left", beginAtZero: true, title: {display: true, text: "% opted out"}},
        count: {type: "linear", position: "right", beginAtZero: true, grid: {drawOnChartArea: false}, ticks: {precision: 0}, title: {display: true, text: "changes"}}
      }
    }
  });
  var colours = ["#1d4ed8", "#7c3aed", "#0f766e", "#b45309"];
  var sets = [];
  data.royalties.forEach(function (series, i) {
    var colour = colours[i % colours.length];
    sets.push({type: "bar", label: "Credited " + series.currency, data: series.net, backgroundColor: colour});
    sets.push({type: "line", label: "Paid out " + series.currency, data: series.paid, borderColor: colour, backgroundColor: colour, borderDash: [6, 4]});
  });
  new Chart(document.getElementById("royalties-chart"), {
    data: {labels: data.months, datasets: sets},
    options: {plugins: {title: {display: true, text: "Royalties by month"}}, scales: {y: {beginAtZero: true}}}
  });
})();

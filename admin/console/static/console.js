/* OCOP console: charts from the page's JSON, the till's keyboard flow. No inline scripts (CSP). */
(function () {
  "use strict";

  function drawCharts() {
    var node = document.getElementById("chart-data");
    if (!node || typeof Chart === "undefined") { return; }
    var data = JSON.parse(node.textContent);
    var palette = ["#1f7a4d", "#c0392b", "#2e86c1", "#d68910", "#7d3c98", "#17a589", "#566573"];
    function chart(id, type, labels, datasets, options) {
      var canvas = document.getElementById(id);
      if (!canvas) { return; }
      new Chart(canvas, {type: type, data: {labels: labels, datasets: datasets},
        options: Object.assign({animation: false, responsive: true, plugins: {legend: {display: type !== "bar"}}}, options || {})});
    }
    chart("chart-stars", "bar", data.stars.labels, [{data: data.stars.values, backgroundColor: palette}]);
    chart("chart-mix", "doughnut", data.mix.labels, [{data: data.mix.values, backgroundColor: palette}]);
    var groupSets = [{label: document.documentElement.lang === "en" ? "Products" : "Sản phẩm",
                      data: data.groups.values, backgroundColor: palette[0]}];
    if (data.groups.targets.some(function (v) { return v !== null; })) {
      groupSets.push({label: document.documentElement.lang === "en" ? "Target" : "Mục tiêu",
                      data: data.groups.targets, backgroundColor: "#b3b6b7"});
    }
    chart("chart-groups", "bar", data.groups.labels, groupSets, {plugins: {legend: {display: groupSets.length > 1}}});
    chart("chart-gmv", "bar", data.gmv.labels, data.gmv.series.map(function (s, i) {
      return {label: s.label, data: s.values, backgroundColor: palette[i % palette.length]};
    }), {plugins: {legend: {display: true}}, scales: {x: {stacked: true}, y: {stacked: true}}});
  }

  function till() {
    var scan = document.getElementById("till-code");
    if (!scan) { return; }
    scan.focus();
    /* after a scanned line is added: clear the code, quantity back to 1, focus the scan field again */
    document.body.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.elt && event.detail.elt.id === "till-scan") {
        scan.value = "";
        var qty = document.getElementById("till-quantity");
        if (qty) { qty.value = "1"; }
        scan.focus();
        updateTotal();
      }
    });
    document.body.addEventListener("click", function (event) {
      var button = event.target.closest("[data-remove-line]");
      if (button) { button.closest("tr").remove(); updateTotal(); scan.focus(); }
    });
    /* F2: back to the scan field; F9: to the payment */
    document.addEventListener("keydown", function (event) {
      if (event.key === "F2") { event.preventDefault(); scan.focus(); }
      if (event.key === "F9") { event.preventDefault(); var pay = document.getElementById("till-method"); if (pay) { pay.focus(); } }
    });
    function updateTotal() {
      var total = 0;
      document.querySelectorAll("#till-lines tr[data-line-total]").forEach(function (row) {
        total += parseInt(row.getAttribute("data-line-total"), 10) || 0;
      });
      var out = document.getElementById("till-total");
      if (out) { out.textContent = total.toLocaleString("vi-VN") + " ₫"; out.setAttribute("data-total", String(total)); }
    }
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) { window.print(); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(); till();
    var next = document.getElementById("next-sale");
    if (next) { next.focus(); }
  });
})();

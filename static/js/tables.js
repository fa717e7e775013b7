// On a phone the tables become stacked rows: each cell says which column it belongs to,
// taken from the table's header, so templates need no per-cell labels.
(function () {
  function label(root) {
    root.querySelectorAll(".table-wrap table").forEach(function (table) {
      var labels = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
      if (!labels.length) { return; }
      table.querySelectorAll("tbody tr").forEach(function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.children, function (cell) {
          var name = labels[column];
          if (name && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", name); }
          column += cell.colSpan || 1;
        });
      });
    });
  }
  label(document);
  document.addEventListener("htmx:afterSettle", function (event) { label(event.target.parentNode || document); });
})();

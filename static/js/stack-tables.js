// Admin tables on a phone: each cell is labelled with its column's heading (data-label), so
// the narrow-screen stylesheet can show one card per row instead of a table that scrolls
// sideways. Cells that already carry a label keep it.
document.querySelectorAll("table.list").forEach(function (table) {
  var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
    return th.textContent.trim();
  });
  table.querySelectorAll("tbody tr").forEach(function (row) {
    var column = 0;
    Array.prototype.forEach.call(row.cells, function (cell) {
      var label = headings[column];
      if (label && !cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) {
        cell.setAttribute("data-label", label);
      }
      column += cell.colSpan || 1;
    });
  });
  table.classList.add("stack");
});

// Functions the grids' column definitions call by name (dash-ag-grid looks them up here).
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

// A number with at most 4 significant digits and thousands separators; text (the first and
// last date of a date column) is shown as it is. ``d3`` is the grid's, passed by the caller.
dagfuncs.formatNumber = function (value, d3) {
  if (value === null || value === undefined) {
    return "";
  }
  if (typeof value !== "number") {
    return String(value);
  }
  return d3.format(",.4~g")(value);
};

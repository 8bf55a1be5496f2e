// Import job page: polls the job's status, moves the progress bar, reloads when it ends.
(function () {
  var job = document.getElementById("import-job");
  if (!job) { return; }
  var bar = document.getElementById("import-progress");
  var count = document.getElementById("import-count");
  var state = document.getElementById("import-state");
  function poll() {
    fetch(job.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (status) {
        bar.max = status.total;
        bar.value = status.processed;
        count.textContent = status.processed + " of " + status.total + " rows processed";
        if (status.status === "running") { state.textContent = "running"; }
        if (status.status === "done" || status.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 700);
        }
      }, function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 300);
})();

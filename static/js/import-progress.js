// Import job page: polls the job's status, moves the progress bar, reloads when it ends.
// A failed poll (network, a busy server) is retried; after several in a row the page is
// reloaded, which shows the job as the server has it (or the sign-in page).
(function () {
  var job = document.getElementById("import-job");
  if (!job) { return; }
  var bar = document.getElementById("import-progress");
  var count = document.getElementById("import-count");
  var state = document.getElementById("import-state");
  var failures = 0;
  function retry() {
    failures += 1;
    if (failures >= 5) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
  }
  function show(status) {
    failures = 0;
    bar.max = status.total;
    bar.value = status.processed;
    count.textContent = status.processed + " of " + status.total + " rows processed";
    if (status.status === "running") { state.textContent = "running"; }
    if (status.status === "done" || status.status === "failed") {
      window.location.reload();
    } else {
      window.setTimeout(poll, 1000);
    }
  }
  function poll() {
    var controller = new AbortController();
    var timer = window.setTimeout(function () { controller.abort(); }, 15000);
    fetch(job.dataset.statusUrl, {credentials: "same-origin", signal: controller.signal,
                                  headers: {"Accept": "application/json"}})
      .then(function (response) {
        window.clearTimeout(timer);
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(show)
      .catch(retry);
  }
  window.setTimeout(poll, 300);
})();

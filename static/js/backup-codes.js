// Backup codes page: copy, download (.txt) and print the codes; the labels come translated
// in data attributes. Without JavaScript the buttons stay hidden and the codes stay readable.
(function () {
  var list = document.getElementById("backup-codes");
  if (!list) { return; }
  var codes = Array.prototype.map.call(list.querySelectorAll("code"), function (c) {
    return c.textContent.trim();
  });
  var text = (list.dataset.heading || "") + "\n\n" + codes.join("\n") + "\n";
  function show(id, handler) {
    var button = document.getElementById(id);
    if (!button) { return; }
    button.hidden = false;
    button.addEventListener("click", function () { handler(button); });
  }
  show("codes-copy", function (button) {
    navigator.clipboard.writeText(codes.join("\n")).then(function () {
      button.textContent = button.dataset.done;
    }, function () {
      button.textContent = button.dataset.failed;
    });
  });
  show("codes-download", function () {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], {type: "text/plain;charset=utf-8"}));
    link.download = "backup-codes.txt";
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
  });
  show("codes-print", function () { window.print(); });
})();

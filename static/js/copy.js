// Copy buttons: <button data-copy="ELEMENT_ID"> copies that element's text to the clipboard.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = document.getElementById(button.dataset.copy).textContent.trim();
    navigator.clipboard.writeText(text).then(function () {
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
    }, function () {
      button.textContent = "Copy failed — select the text";
    });
  });
});

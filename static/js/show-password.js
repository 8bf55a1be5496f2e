// A "Show password" toggle after every password field (issue 16). The labels come from
// the page (data-show / data-hide on this script tag), so they are in the page's language.
(function () {
  "use strict";
  var script = document.currentScript;
  var show = script.dataset.show, hide = script.dataset.hide;
  function addToggle(input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small show-password";
    button.textContent = show;
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", function () {
      var visible = input.type === "password";
      input.type = visible ? "text" : "password";
      button.textContent = visible ? hide : show;
      button.setAttribute("aria-pressed", visible ? "true" : "false");
    });
    input.insertAdjacentElement("afterend", button);
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[type=password][id]"), addToggle);
  });
})();

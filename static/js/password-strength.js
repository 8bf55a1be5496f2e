// Strength indicator for password fields marked data-strength (CSP: script-src 'self').
// Advisory only: the server applies the tenant's password policy and gives the reasons.
(function () {
  "use strict";
  var LABELS = ["Too weak", "Weak", "Fair", "Good", "Strong"];
  var COMMON = /^(password|passw0rd|qwerty|letmein|welcome|admin|iloveyou|monkey|dragon|123456)/i;

  function score(value) {
    if (!value) { return 0; }
    var classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter(function (re) {
      return re.test(value);
    }).length;
    var points = Math.min(value.length, 20) / 4 + classes;
    if (/^(.)\1+$/.test(value) || COMMON.test(value)) { points = Math.min(points, 1); }
    return Math.max(0, Math.min(4, Math.floor(points / 2.25)));
  }

  function unmet(input, value) {
    var needs = [];
    var min = parseInt(input.getAttribute("data-min-length") || "0", 10);
    if (value.length < min) { needs.push("at least " + min + " characters"); }
    var classes = (input.getAttribute("data-classes") || "").split(",");
    var tests = {upper: /[A-Z]/, lower: /[a-z]/, digit: /[0-9]/, special: /[^A-Za-z0-9]/};
    var names = {upper: "an upper-case letter", lower: "a lower-case letter", digit: "a digit",
                 special: "a special character"};
    classes.forEach(function (c) {
      if (tests[c] && !tests[c].test(value)) { needs.push(names[c]); }
    });
    return needs;
  }

  function attach(input) {
    var meter = document.getElementById(input.getAttribute("data-strength"));
    var text = document.getElementById(input.getAttribute("data-strength") + "-text");
    if (!meter || !text) { return; }
    input.addEventListener("input", function () {
      var value = input.value || "";
      var s = score(value);
      meter.value = s;
      var needs = unmet(input, value);
      text.textContent = value ? LABELS[s] + (needs.length ? " · needs " + needs.join(", ") : "")
                               : "";
    });
  }

  document.querySelectorAll("input[data-strength]").forEach(attach);
}());

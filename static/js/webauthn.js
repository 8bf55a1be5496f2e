// WebAuthn ceremonies for the hosted pages. Loaded from 'self' (CSP: no inline script).
// A button with data-webauthn="create" | "get" | "passwordless" fetches options (POST,
// CSRF header), runs the browser ceremony, then submits its form with the result.
(function () {
  "use strict";

  function b64urlToBuf(value) {
    var s = value.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(o) {
    o.challenge = b64urlToBuf(o.challenge);
    o.user.id = b64urlToBuf(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return o;
  }

  function requestOptions(o) {
    o.challenge = b64urlToBuf(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return o;
  }

  function credentialJSON(cred) {
    var r = cred.response, response = { clientDataJSON: bufToB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bufToB64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = bufToB64url(r.authenticatorData);
      response.signature = bufToB64url(r.signature);
      if (r.userHandle) { response.userHandle = bufToB64url(r.userHandle); }
    }
    return JSON.stringify({ id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
      response: response, clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment || undefined });
  }

  function showError(form, text) {
    var box = form.querySelector("[data-webauthn-error]");
    if (box) { box.textContent = text; box.hidden = false; }
  }

  function run(button) {
    var form = document.getElementById(button.dataset.form) || button.closest("form");
    var mode = button.dataset.webauthn;
    var token = form.querySelector("input[name=csrf_token]").value;
    if (!window.PublicKeyCredential) {
      showError(form, "This browser does not support passkeys.");
      return;
    }
    button.disabled = true;
    fetch(button.dataset.optionsUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token }, body: "{}"
    }).then(function (resp) {
      return resp.json().then(function (body) {
        if (!resp.ok) {
          if (body.redirect) { window.location.assign(body.redirect); }
          throw new Error(body.message || "The request was refused.");
        }
        return body;
      });
    }).then(function (options) {
      if (mode === "create") {
        return navigator.credentials.create({ publicKey: creationOptions(options) });
      }
      return navigator.credentials.get({ publicKey: requestOptions(options) });
    }).then(function (cred) {
      form.querySelector("input[name=credential]").value = credentialJSON(cred);
      form.submit();
    }).catch(function (err) {
      button.disabled = false;
      var cancelled = err && (err.name === "NotAllowedError" || err.name === "AbortError");
      showError(form, cancelled ? "The passkey request was cancelled or timed out." :
        (err && err.message) || "The passkey could not be used.");
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-webauthn]");
    if (button) { event.preventDefault(); run(button); }
  });
}());

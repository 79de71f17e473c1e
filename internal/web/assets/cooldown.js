// The resend button after a code was sent: disabled, and counting down the
// seconds until another code may be asked for. Without this script the
// page says how long to wait, and a press too early is answered as any
// resend is, without sending.
"use strict";

(function () {
  var button = document.querySelector("button[data-cooldown]");
  var note = document.getElementById("cooldown");
  if (!button || !note) {
    return;
  }
  var label = button.textContent;
  var until = Date.now() + parseInt(button.getAttribute("data-cooldown"), 10) * 1000;
  button.disabled = true;
  function tick() {
    var left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      button.disabled = false;
      button.textContent = label;
      note.textContent = note.getAttribute("data-ready");
      return;
    }
    button.textContent = label + " (" + left + " s)";
    note.textContent = note.getAttribute("data-wait").replace("%d", left);
    setTimeout(tick, 1000);
  }
  tick();
})();

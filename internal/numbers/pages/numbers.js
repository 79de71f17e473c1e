// The Numbers page, enhanced: the page works without this script (reload
// it to see new SMS), and the script follows /v1/inbox/stream (the session
// cookie authenticates it) from the newest inbox message the page was
// rendered with. Each SMS of a rental of the page, a message of source
// kind "rental", is added to that rental as it arrives: its text, its
// code, the status "SMS received", and no cancel button any more (a rental
// with an SMS cannot be cancelled). SMS text only ever goes through
// textContent.
"use strict";

(function () {
  var list = document.getElementById("rentals");
  var status = document.getElementById("live-status");
  if (!list || !status || !window.EventSource) {
    return;
  }
  var last = list.getAttribute("data-last-event-id") || "0";

  function el(tag, className, content) {
    var node = document.createElement(tag);
    node.className = className;
    node.textContent = content;
    return node;
  }

  // shown reports whether the rental already shows this SMS (the page may
  // have been rendered after it arrived).
  function shown(sms, m) {
    return Array.prototype.some.call(sms.querySelectorAll("li.sms"), function (li) {
      var text = li.querySelector(".text");
      var code = li.querySelector(".code");
      return text && text.textContent === (m.message || "") && (code ? code.textContent : "") === (m.code || "");
    });
  }

  function add(m) {
    var id = m.source && m.source.kind === "rental" ? m.source.id || "" : "";
    // Ids are rnt_ and base62, safe inside a quoted attribute selector.
    if (!/^rnt_[A-Za-z0-9]+$/.test(id)) {
      return;
    }
    var li = list.querySelector('li.rental[data-id="' + id + '"]');
    var sms = li && li.querySelector(".sms-list");
    if (!sms || shown(sms, m)) {
      return;
    }
    var item = el("li", "sms", "");
    item.appendChild(el("p", "text", m.message || ""));
    if (m.code) {
      item.appendChild(el("p", "code", m.code));
    }
    sms.appendChild(item);
    li.querySelector(".status").textContent = list.getAttribute("data-received");
    li.querySelectorAll(".waiting, form.cancel-form").forEach(function (node) {
      node.remove();
    });
  }

  var source = new EventSource("/v1/inbox/stream?last_event_id=" + encodeURIComponent(last));
  source.addEventListener("open", function () {
    status.textContent = status.getAttribute("data-live");
  });
  source.addEventListener("error", function () {
    status.textContent = status.getAttribute("data-reconnecting");
  });
  source.addEventListener("message", function (e) {
    try {
      add(JSON.parse(e.data));
    } catch (err) {
      // not a message of ours
    }
  });
})();

// Live inbox: follows /v1/inbox/stream (the session cookie authenticates it)
// from the newest message the page was rendered with, and puts each new
// message on top. A code leaves the page when its OTP dies: at its expiry
// time, or when the stream sends the message again without it (an
// "update": the code was used, replaced or killed by wrong tries). Message
// text only ever goes through textContent. The page gives the script its
// texts, in the page's language, in data- attributes.
"use strict";

(function () {
  var list = document.getElementById("messages");
  var status = document.getElementById("live-status");
  if (!list || !window.EventSource) {
    return;
  }
  var seen = new Set();
  list.querySelectorAll("li.message").forEach(function (li) {
    seen.add(li.getAttribute("data-id"));
  });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  // expireCode removes a code element when its expiry time comes.
  function expireCode(node) {
    var at = Date.parse(node.getAttribute("data-expires") || "");
    if (!isNaN(at)) {
      setTimeout(function () {
        node.remove();
      }, Math.max(at - Date.now(), 0));
    }
  }
  list.querySelectorAll(".code[data-expires]").forEach(expireCode);

  // when writes an RFC 3339 UTC time as the server does: 2006-01-02 15:04 UTC.
  function when(iso) {
    return iso.slice(0, 10) + " " + iso.slice(11, 16) + " UTC";
  }

  function render(m) {
    var li = el("li", "message");
    li.setAttribute("data-id", m.id);
    var meta = el("div", "meta");
    meta.appendChild(el("span", "sender", (m.app || m.source || {}).name || ""));
    var time = el("time", "", when(m.created_at || ""));
    time.setAttribute("datetime", m.created_at || "");
    meta.appendChild(time);
    li.appendChild(meta);
    li.appendChild(el("p", "text", m.message || ""));
    if (m.code) {
      var code = el("p", "code", m.code);
      if (m.expires_at) {
        code.setAttribute("data-expires", m.expires_at);
        expireCode(code);
      }
      li.appendChild(code);
    }
    if (m.reference) {
      var ref = el("p", "reference muted", list.getAttribute("data-reference") + " ");
      ref.appendChild(el("span", "", m.reference));
      li.appendChild(ref);
    }
    return li;
  }

  var last = list.getAttribute("data-last-event-id") || "0";
  var source = new EventSource("/v1/inbox/stream?last_event_id=" + encodeURIComponent(last));
  source.addEventListener("open", function () {
    status.textContent = status.getAttribute("data-live");
  });
  source.addEventListener("error", function () {
    status.textContent = status.getAttribute("data-reconnecting");
  });
  function parse(data) {
    try {
      return JSON.parse(data);
    } catch (err) {
      return null;
    }
  }
  source.addEventListener("update", function (e) {
    var m = parse(e.data);
    // Ids are msg_ and base64url, safe inside a quoted attribute selector.
    if (!m || !/^msg_[A-Za-z0-9_-]+$/.test(m.id || "") || m.code) {
      return;
    }
    var code = list.querySelector('li.message[data-id="' + m.id + '"] .code');
    if (code) {
      code.remove();
    }
  });
  source.addEventListener("message", function (e) {
    var m = parse(e.data);
    if (!m || !m.id || seen.has(m.id)) {
      return;
    }
    seen.add(m.id);
    list.insertBefore(render(m), list.firstChild);
    document.getElementById("empty").hidden = true;
  });
})();

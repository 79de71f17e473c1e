// The inbox, enhanced: the page works without this script (times in UTC,
// "Older messages" and "Mark as read" as a link and forms), and the script
// adds to it. It shows times in the reader's own time zone, counts a live
// code's time down and labels it once it expires, copies codes, marks
// messages read and loads older ones without leaving the page, keeps the
// unread count in the title, and on the first page follows
// /v1/inbox/stream (the session cookie authenticates it) from the newest
// message the page was rendered with, putting each new message on top. A
// code the stream sends again without it (an "update": used, replaced or
// killed by wrong tries) is labelled as no longer valid. Message text only
// ever goes through textContent. The page gives the script its texts, in
// the page's language, in data- attributes of the list.
"use strict";

(function () {
  var list = document.getElementById("messages");
  if (!list) {
    return;
  }
  var text = function (attr) {
    return list.getAttribute(attr) || "";
  };
  var lang = document.documentElement.lang || undefined;
  var seen = new Set();

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content !== undefined) {
      node.textContent = content;
    }
    return node;
  }

  // localTime writes a <time datetime> in the reader's time zone, keeping
  // the UTC text as its title.
  function localTime(node) {
    var at = new Date(node.getAttribute("datetime") || "");
    if (isNaN(at.getTime())) {
      return;
    }
    node.title = node.textContent;
    node.textContent = at.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
  }

  // Unread count, in the heading and the title.
  var unread = parseInt(text("data-unread"), 10) || 0;
  var count = document.getElementById("unread-count");
  function showUnread() {
    var base = text("data-title") + " · Linkbox";
    document.title = unread > 0 ? "(" + unread + ") " + base : base;
    if (count) {
      count.textContent = text("data-unread-count").replace("%d", unread);
      count.hidden = unread === 0;
    }
  }

  function codeState(row, name) {
    var li = row.closest("li.message");
    var expiry = li && li.querySelector(".expiry");
    if (expiry) {
      expiry.remove();
    }
    var label = el("p", "code-state " + name, text("data-" + name));
    row.replaceWith(label);
  }

  // countdown shows the time left on a live code, and labels it expired
  // when the time is up.
  function countdown(code) {
    var at = Date.parse(code.getAttribute("data-expires") || "");
    var row = code.closest(".code-row");
    var li = code.closest("li.message");
    var expiry = li && li.querySelector(".expiry");
    if (isNaN(at) || !row) {
      return;
    }
    var shown = el("span", "countdown");
    if (expiry) {
      expiry.textContent = "";
      expiry.appendChild(shown);
    }
    function tick() {
      if (!row.isConnected) {
        return;
      }
      var left = Math.round((at - Date.now()) / 1000);
      if (left <= 0) {
        codeState(row, "expired");
        return;
      }
      var m = Math.floor(left / 60);
      var s = left % 60;
      shown.textContent = text("data-expires-in").replace("%s", m + ":" + (s < 10 ? "0" : "") + s);
      setTimeout(tick, 1000 - (Date.now() % 1000));
    }
    tick();
  }

  function copyButton(button) {
    var code = button.parentNode.querySelector(".code");
    if (!code) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () {
        button.textContent = text("data-copied");
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(code.textContent).then(done, function () {
          selectText(code);
        });
      } else {
        selectText(code);
      }
    });
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // readForm marks its message read in the background.
  function readForm(form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = new URLSearchParams(new FormData(form));
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin", redirect: "manual" }).then(function (res) {
        if (res.type !== "opaqueredirect" && !res.ok) {
          form.submit();
          return;
        }
        var li = form.closest("li.message");
        li.classList.replace("unread", "read");
        var badge = li.querySelector(".badge");
        if (badge) {
          badge.remove();
        }
        form.remove();
        unread = Math.max(unread - 1, 0);
        showUnread();
      }, function () {
        form.submit();
      });
    });
  }

  // enhance adds the script's part to a message of the page.
  function enhance(li) {
    seen.add(li.getAttribute("data-id"));
    li.querySelectorAll("time[datetime]").forEach(localTime);
    li.querySelectorAll(".code[data-expires]").forEach(countdown);
    li.querySelectorAll("button.copy").forEach(copyButton);
    li.querySelectorAll("form.read-form").forEach(readForm);
  }
  list.querySelectorAll("li.message").forEach(enhance);
  showUnread();

  // "Older messages" appends the next page here rather than opening it.
  var older = document.getElementById("older");
  if (older && window.DOMParser) {
    older.addEventListener("click", function (e) {
      e.preventDefault();
      fetch(older.href, { credentials: "same-origin" }).then(function (res) {
        return res.ok ? res.text() : Promise.reject(res.status);
      }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        doc.querySelectorAll("#messages > li.message").forEach(function (li) {
          if (seen.has(li.getAttribute("data-id"))) {
            return;
          }
          li = document.importNode(li, true);
          list.appendChild(li);
          enhance(li);
        });
        var next = doc.getElementById("older");
        if (next) {
          older.href = next.getAttribute("href");
        } else {
          older.parentNode.remove();
        }
      }, function () {
        window.location.href = older.href;
      });
    });
  }

  function render(m) {
    var li = el("li", "message unread");
    li.setAttribute("data-id", m.id);
    var meta = el("div", "meta");
    var from = el("span");
    from.appendChild(el("span", "sender", (m.app || m.source || {}).name || ""));
    from.appendChild(document.createTextNode(" "));
    from.appendChild(el("span", "badge", text("data-unread-label")));
    meta.appendChild(from);
    meta.appendChild(document.createTextNode(" "));
    var time = el("time", "", m.created_at || "");
    time.setAttribute("datetime", m.created_at || "");
    meta.appendChild(time);
    li.appendChild(meta);
    li.appendChild(el("p", "text", m.message || ""));
    if (m.code) {
      var row = el("div", "code-row");
      var code = el("p", "code", m.code);
      row.appendChild(code);
      var copy = el("button", "copy secondary", text("data-copy"));
      copy.type = "button";
      row.appendChild(copy);
      li.appendChild(row);
      if (m.expires_at) {
        code.setAttribute("data-expires", m.expires_at);
        li.appendChild(el("p", "expiry muted"));
      }
    }
    if (m.reference) {
      var ref = el("p", "reference muted", text("data-reference") + " ");
      ref.appendChild(el("span", "", m.reference));
      li.appendChild(ref);
    }
    var form = el("form", "inline read-form");
    form.method = "post";
    form.action = "/inbox/" + encodeURIComponent(m.id) + "/read";
    var csrf = el("input");
    csrf.type = "hidden";
    csrf.name = "csrf";
    csrf.value = text("data-csrf");
    form.appendChild(csrf);
    var mark = el("button", "secondary mark-read", text("data-mark-read"));
    mark.type = "submit";
    form.appendChild(mark);
    li.appendChild(form);
    return li;
  }

  var last = list.getAttribute("data-last-event-id");
  var status = document.getElementById("live-status");
  if (last === null || !window.EventSource) {
    return;
  }
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
    var row = list.querySelector('li.message[data-id="' + m.id + '"] .code-row');
    if (row) {
      var at = Date.parse(m.expires_at || "");
      codeState(row, !isNaN(at) && at <= Date.now() ? "expired" : "used");
    }
  });
  source.addEventListener("message", function (e) {
    var m = parse(e.data);
    if (!m || !m.id || seen.has(m.id)) {
      return;
    }
    var li = render(m);
    list.insertBefore(li, list.firstChild);
    enhance(li);
    document.getElementById("empty").hidden = true;
    if (!m.read_at) {
      unread++;
      showUnread();
    }
  });
})();

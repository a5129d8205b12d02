// Live tail of the server log page (templates/system/logs.html). The page works without this
// script (the level form is a GET form; a reload shows new lines); with it, every line logged
// at or above the chosen level is appended at the bottom as it is written, from the log
// stream (GET /api/system/logs/stream, `log` events). The box follows the newest line while
// it is scrolled to the bottom, and keeps at most MAX_LINES so a long-open page stays light.
// When the stream ends (a restart), it reconnects with back-off like app.js.
(function () {
  "use strict";
  var MAX_LINES = 2000;
  var list = document.getElementById("log-lines");
  var box = document.getElementById("log-box");
  var state = document.getElementById("tail-state");
  if (!list || !box || !window.EventSource) return;
  var retryMs = 1000;

  // "2026-12-06 02:27:50" in the zone the pages show times in (like the server's `when_s`).
  var parts = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit", hourCycle: "h23" };
  var clock;
  try {
    clock = new Intl.DateTimeFormat("sv-SE", Object.assign({ timeZone: list.dataset.zone }, parts));
  } catch (e) {
    clock = new Intl.DateTimeFormat("sv-SE", parts);
  }

  function say(text) {
    if (state) state.textContent = text;
  }

  function atBottom() {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }

  function span(cls, text) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }

  function add(e) {
    var follow = atBottom();
    var li = document.createElement("li");
    if (e.level === "error") li.className = "error";
    if (e.level === "warn") li.className = "warning";
    var time = document.createElement("time");
    time.dateTime = e.at;
    time.textContent = clock.format(new Date(e.at));
    li.appendChild(time);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(span("lvl", e.level));
    li.appendChild(document.createTextNode(" " + e.message));
    var fields = Object.keys(e.fields || {}).map(function (k) {
      var v = e.fields[k];
      return k + "=" + (typeof v === "string" ? v : JSON.stringify(v));
    }).join(" ");
    if (fields) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(span("muted", fields));
    }
    li.appendChild(document.createTextNode(" "));
    li.appendChild(span("target", e.target));
    list.appendChild(li);
    while (list.children.length > MAX_LINES) list.removeChild(list.firstElementChild);
    var empty = document.getElementById("log-empty");
    if (empty) empty.remove();
    if (follow) box.scrollTop = box.scrollHeight;
  }

  function connect() {
    var source = new EventSource(list.dataset.stream);
    source.addEventListener("open", function () {
      retryMs = 1000;
      say("Live: new lines are added at the bottom as they are logged.");
    });
    source.addEventListener("log", function (m) {
      try { add(JSON.parse(m.data)); } catch (e) { /* not a log entry: ignore */ }
    });
    source.addEventListener("lagged", function (m) {
      var n = 0;
      try { n = JSON.parse(m.data).skipped; } catch (e) { /* keep 0 */ }
      say("Live: " + n + " lines came too fast to show here; reload to see them.");
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        say("Live updates stopped; trying again.");
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 15000);
      } else {
        say("Live updates reconnecting.");
      }
    });
  }

  box.scrollTop = box.scrollHeight;
  connect();
})();

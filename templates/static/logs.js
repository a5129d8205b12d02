// Live tail of the server log page (templates/system/logs.html). The page works without this
// script (the level form is a GET form; a reload shows new lines); with it, every line logged
// at or above the chosen level is appended at the bottom as it is written, from the log
// stream (GET /api/system/logs/stream, `log` events). The box follows the newest line while
// it is scrolled to the bottom, and keeps at most MAX_LINES so a long-open page stays light.
// The stream is opened with `since` a second before the page read the log (data-since), so a
// line logged before this script connected comes too; lines the page already shows from that
// second on are listed in data-recent and dropped when they come again. When the stream ends
// (a restart), it reconnects with back-off like app.js, from a second before the newest line.
(function () {
  "use strict";
  var MAX_LINES = 2000;
  var list = document.getElementById("log-lines");
  var box = document.getElementById("log-box");
  var state = document.getElementById("tail-state");
  if (!list || !box || !window.EventSource) return;
  var retryMs = 1000;
  var since = list.dataset.since || "";
  // "at|message" of the lines shown from a second before the newest one: the replay's
  // duplicates. Pruned as newer lines come.
  var seen = {};
  var newestMs = since ? Date.parse(since) + 1000 : 0;
  try {
    JSON.parse(list.dataset.recent || "[]").forEach(function (k) { seen[k] = true; });
  } catch (e) { /* no list: nothing to drop */ }

  // Whether this line is already shown; remembers it otherwise.
  function shown(e) {
    var key = e.at + "|" + e.message;
    if (seen[key]) return true;
    var ms = Date.parse(e.at);
    if (ms > newestMs) {
      newestMs = ms;
      Object.keys(seen).forEach(function (k) {
        if (Date.parse(k.slice(0, k.indexOf("|"))) < newestMs - 1000) delete seen[k];
      });
    }
    seen[key] = true;
    return false;
  }

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
    var url = list.dataset.stream + (since ? "&since=" + encodeURIComponent(since) : "");
    var source = new EventSource(url);
    source.addEventListener("open", function () {
      retryMs = 1000;
      say("Live: new lines are added at the bottom as they are logged.");
    });
    source.addEventListener("log", function (m) {
      var e;
      try { e = JSON.parse(m.data); } catch (err) { return; /* not a log entry: ignore */ }
      if (!shown(e)) add(e);
    });
    source.addEventListener("lagged", function (m) {
      var n = 0;
      try { n = JSON.parse(m.data).skipped; } catch (e) { /* keep 0 */ }
      say("Live: " + n + " lines came too fast to show here; reload to see them.");
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        say("Live updates stopped; trying again.");
        // Again from a second before the newest line: what came meanwhile, without repeats.
        if (newestMs) since = new Date(newestMs - 1000).toISOString();
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

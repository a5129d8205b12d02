// Live updates for the server-rendered pages. Everything works without this script; it only
// listens to the SSE stream (/api/events) and (1) moves progress bars, fps and ETA, (2) updates
// job status cells, (3) re-fetches the page and swaps the [data-live] regions when the engine,
// a scan or a job's state changes (the dashboard's charts among them). EventSource reconnects
// by itself after network errors; when it gives up (the server answered an error while
// restarting) we open a new one with back-off, and on every (re)connection refresh the regions
// to catch up on what happened in between. It also asks before destructive actions in a
// dialog (buttons with data-confirm), and sends confirm=yes so the server's own confirmation
// page is skipped.
(function () {
  "use strict";
  var source = null;
  var retryMs = 1000;
  var refreshTimer = null;
  var dot = document.getElementById("live-dot");
  // The server's path prefix behind a reverse proxy ("" at the root): base.html's data-base.
  var BASE = document.body.dataset.base || "";

  function setLive(on) {
    if (!dot) return;
    dot.classList.toggle("on", on);
    dot.title = on ? "Live updates on" : "Live updates reconnecting";
  }

  function fmtEta(s) {
    if (s == null || !isFinite(s)) return "–";
    s = Math.round(s);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
    return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
  }

  function each(sel, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(sel), fn);
  }

  function onProgress(d) {
    var id = d.job_id;
    each('[data-progress-job="' + id + '"]', function (el) {
      el.value = d.percent;
      el.textContent = Math.round(d.percent) + "%";
    });
    each('[data-percent-job="' + id + '"]', function (el) { el.textContent = d.percent.toFixed(1) + "%"; });
    // The first reports of a run know no speed yet: say nothing rather than "0 s left".
    var known = d.fps != null && d.fps > 0;
    each('[data-fps-job="' + id + '"]', function (el) { el.textContent = known ? d.fps.toFixed(1) : "–"; });
    each('[data-eta-job="' + id + '"]', function (el) {
      el.textContent = known && (d.eta_seconds > 0 || d.percent >= 99) ? fmtEta(d.eta_seconds) : "estimating…";
    });
  }

  function onStatus(d) {
    each('[data-status-job="' + d.job_id + '"]', function (el) {
      var badge = document.createElement("span");
      badge.className = "badge " + d.status;
      badge.textContent = d.status;
      el.replaceChildren(badge);
    });
    if (d.status === "completed") {
      each('[data-progress-job="' + d.job_id + '"]', function (el) { el.value = 100; });
    }
    scheduleRefresh();
  }

  // The engine's state in words: the same as `render::phase` on the server.
  function phase(d) {
    if (d.status === "paused") return ["paused", "Paused"];
    if (d.status === "draining") return ["draining", "Finishing"];
    if (d.active_jobs > 0) return ["encoding", "Encoding"];
    if (d.queued_jobs > 0) return ["encoding", "Starting"];
    return ["idle", "Idle"];
  }

  // The header's engine badge follows every `engine` event, on every page.
  function onEngine(d) {
    var el = document.getElementById("engine-badge");
    if (el && d.status) {
      var p = phase(d);
      el.textContent = p[1];
      el.className = "badge " + p[0];
      el.title = d.active_jobs + " running, " + d.queued_jobs + " waiting" +
        (d.paused_reason ? ": " + d.paused_reason : "");
    }
    scheduleRefresh();
  }

  // Re-render the [data-live] regions from a fresh copy of this page (at most every 700 ms).
  function scheduleRefresh() {
    if (!document.querySelector("[data-live]") || refreshTimer) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          each("[data-live]", function (el) {
            if (el.contains(document.activeElement) && document.activeElement !== document.body) return;
            var fresh = el.id && doc.getElementById(el.id);
            if (fresh) el.innerHTML = fresh.innerHTML;
          });
        })
        .catch(function () {});
    }, 700);
  }

  function connect() {
    source = new EventSource(BASE + "/api/events");
    source.addEventListener("open", function () {
      // Events between the page's render and this moment were missed (a job that started
      // right after a form post, a restart): render the live regions again once.
      scheduleRefresh();
      retryMs = 1000;
      setLive(true);
    });
    source.addEventListener("error", function () {
      setLive(false);
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 15000);
      } else {
        retryMs = 2000; // the browser retries; refresh after it is back
      }
    });
    function on(name, fn) {
      source.addEventListener(name, function (e) {
        try { fn(JSON.parse(e.data)); } catch (err) { /* ignore malformed events */ }
      });
    }
    on("progress", onProgress);
    on("status", onStatus);
    on("engine", onEngine);
    ["scan_started", "scan_completed", "decision", "lagged"].forEach(function (n) {
      on(n, scheduleRefresh);
    });
  }

  // Select-all checkboxes of the jobs table (its header's, and the one a phone shows above it).
  each("[data-select-all]", function (all) {
    all.addEventListener("change", function () {
      each('input[name="id"], [data-select-all]', function (el) { el.checked = all.checked; });
    });
  });

  // A notification target's form shows the fields of the chosen kind only (data-kinds lists
  // the kinds a field belongs to), and sends only those: a hidden field is disabled too, so an
  // email target turned into a webhook keeps no SMTP password it no longer shows. Without
  // scripts every field shows and is sent.
  each(".target-form", function (form) {
    var kind = form.querySelector('select[name="kind"]');
    if (!kind) return;
    function show() {
      Array.prototype.forEach.call(form.querySelectorAll("[data-kinds]"), function (el) {
        var off = el.getAttribute("data-kinds").split(" ").indexOf(kind.value) < 0;
        el.hidden = off;
        Array.prototype.forEach.call(el.querySelectorAll("input, select"), function (i) {
          i.disabled = off;
        });
      });
    }
    kind.addEventListener("change", show);
    show();
  });

  // Selects that apply at once (their form still has a submit button without scripts).
  each("select[data-autosubmit]", function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  // Destructive buttons ask first in a dialog; confirmed, the form goes with confirm=yes.
  var dialog = null;
  function ask(text, yes, danger, onYes) {
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "confirm";
      dialog.setAttribute("aria-labelledby", "confirm-text");
      dialog.innerHTML = '<p id="confirm-text"></p><form method="dialog" class="row">' +
        '<button value="yes" class="danger" id="confirm-yes"></button>' +
        '<button value="no" class="secondary" id="confirm-no" autofocus>Go back</button></form>';
      document.body.appendChild(dialog);
    }
    dialog.querySelector("#confirm-text").textContent = text;
    dialog.querySelector("#confirm-yes").textContent = yes;
    // The confirming button is red only for what cannot be undone (a danger button, or one
    // marked data-danger), as on the server's confirmation page.
    dialog.querySelector("#confirm-yes").className = danger ? "danger" : "";
    dialog.returnValue = "";
    dialog.onclose = function () { if (dialog.returnValue === "yes") onYes(); };
    dialog.showModal();
  }
  document.addEventListener("submit", function (e) {
    var button = e.submitter;
    var form = e.target;
    if (!button || !button.dataset.confirm || form.dataset.confirmed === "yes") return;
    e.preventDefault();
    ask(button.dataset.confirm, button.textContent.trim(), button.classList.contains("danger") || button.hasAttribute("data-danger"), function () {
      var flag = document.createElement("input");
      flag.type = "hidden";
      flag.name = "confirm";
      flag.value = "yes";
      form.appendChild(flag);
      form.dataset.confirmed = "yes";
      form.requestSubmit(button);
    });
  });

  // Browsers allow about six HTTP/1.1 connections per host: release the stream as soon as the
  // page is left (also lets the back/forward cache keep the page), and open it again on return.
  window.addEventListener("pagehide", function () {
    if (source) { source.close(); source = null; }
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted && !source && window.EventSource) { connect(); scheduleRefresh(); }
  });

  if (window.EventSource && document.body.dataset.live === "on") connect();
})();

// The firmware update section of the system page: the bundle goes as the request body (the API
// takes the file itself, not a form), then the install's progress comes over SSE from the same
// URL; Reboot asks first, then reloads the page once the box answers again.
(function () {
  "use strict";
  var form = document.getElementById("update-form");
  if (!form) return;
  var bar = document.getElementById("update-progress");
  var msg = document.getElementById("update-message");
  var button = document.getElementById("update-upload");

  function say(text, isError) {
    msg.textContent = "";
    var span = document.createElement("span");
    if (isError) span.className = "error";
    span.textContent = text;
    msg.appendChild(span);
  }

  function follow() {
    // EventSource asks for text/event-stream: the same URL then streams `install` events.
    var es = new EventSource(form.action);
    es.addEventListener("install", function (e) {
      var s = JSON.parse(e.data);
      bar.hidden = s.phase !== "installing";
      bar.value = s.percentage;
      bar.textContent = s.percentage + "%";
      if (s.phase === "verifying") say("Checking the bundle's signature…");
      else if (s.phase === "installing") say("Installing " + (s.version || "") + ": " + (s.message || ""));
      else if (s.phase === "installed") say("Release " + s.version + " is installed: reboot to run it.");
      else if (s.phase === "failed") say(s.error, true);
      if (s.phase === "installed" || s.phase === "failed") {
        es.close();
        button.disabled = false;
      }
    });
    es.onerror = function () { es.close(); button.disabled = false; };
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = document.getElementById("update-bundle").files[0];
    if (!file) return;
    button.disabled = true;
    say("Uploading " + file.name + "…");
    fetch(form.action, {
      method: "POST",
      body: file,
      headers: { "Content-Type": "application/octet-stream" },
      credentials: "same-origin"
    }).then(function (r) {
      return r.json().then(function (b) {
        if (r.ok) { follow(); return; }
        say(b.detail || "The upload was refused.", true);
        button.disabled = false;
      });
    }).catch(function () {
      say("The upload failed: the connection was lost.", true);
      button.disabled = false;
    });
  });

  function waitUntilBack() {
    function poll() {
      fetch(BASE + "/api/ready").then(function (r) {
        if (r.ok) location.reload(); else setTimeout(poll, 3000);
      }, function () { setTimeout(poll, 3000); });
    }
    // The server answers for about a second more before it stops.
    setTimeout(poll, 5000);
  }

  var reboot = document.getElementById("reboot-form");
  if (reboot) {
    reboot.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!window.confirm("Reboot the box now?")) return;
      fetch(reboot.action, { method: "POST", credentials: "same-origin" }).then(function (r) {
        return r.json().then(function (b) {
          if (!r.ok) { say(b.detail || "The reboot was refused.", true); return; }
          say("Rebooting… this page reloads when the box is back.");
          waitUntilBack();
        });
      });
    });
  }
})();

// On a phone the main navigation is one row that scrolls sideways (app.css): the current
// page's link is brought into view when it is not (centred, so the row does not jump when it
// already shows), and the edge where more links wait fades out.
(function () {
  "use strict";
  var nav = document.querySelector("nav.main");
  var row = nav && nav.querySelector("ul");
  if (!row) return;
  var current = nav.querySelector('a[aria-current="page"]');

  function edges() {
    var more = row.scrollWidth > row.clientWidth + 1;
    nav.classList.toggle("more-left", more && row.scrollLeft > 1);
    nav.classList.toggle("more-right", more && row.scrollLeft + row.clientWidth < row.scrollWidth - 1);
  }

  function show() {
    if (current && row.scrollWidth > row.clientWidth + 1) {
      var left = current.getBoundingClientRect().left - row.getBoundingClientRect().left + row.scrollLeft;
      var right = left + current.offsetWidth;
      if (left < row.scrollLeft || right > row.scrollLeft + row.clientWidth) {
        row.scrollLeft = Math.max(0, left - (row.clientWidth - current.offsetWidth) / 2);
      }
    }
    edges();
  }

  row.addEventListener("scroll", edges, { passive: true });
  window.addEventListener("resize", show);
  show();
})();

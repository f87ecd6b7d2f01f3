// Progressive enhancement for the subscribe and preferences forms; both work without it.
// 1. Guess the time zone from the browser. 2. Live preview of matching papers while typing.
// 3. Show the weekday picker only for weekly digests. 4. Check pasted papers while typing.
(function () {
  "use strict";
  var form = document.querySelector("form.form");
  if (!form) return;

  var tz = form.querySelector("[data-guess-timezone]");
  if (tz && (tz.value === "" || tz.value === "UTC") && window.Intl) {
    try {
      var guessed = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (guessed) tz.value = guessed;
    } catch (e) { /* keep UTC */ }
  }

  var weekday = form.querySelector("[data-weekday-field]");
  function syncWeekday() {
    var checked = form.querySelector("[data-frequency]:checked");
    if (weekday) weekday.hidden = !checked || checked.value !== "weekly";
  }
  form.addEventListener("change", function (event) {
    if (event.target.matches("[data-frequency]")) syncWeekday();
  });
  syncWeekday();

  // Keep each category group's "n selected" note in step with its checkboxes.
  function syncCounts() {
    form.querySelectorAll(".category-group").forEach(function (group) {
      var n = group.querySelectorAll("input[type=checkbox]:checked").length;
      var note = group.querySelector("summary .count");
      if (!note) {
        note = document.createElement("span");
        note.className = "count";
        group.querySelector("summary").appendChild(note);
      }
      note.textContent = n ? n + " selected" : "";
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "categories") syncCounts();
  });

  // Each pasted line with the paper it names, or why none, drawn like the server's list.
  var paste = form.querySelector("[data-paste-input]");
  var check = document.getElementById("paste-check");
  if (paste && check && window.fetch) {
    var status = document.getElementById("paste-check-status");
    var list = check.querySelector(".paste-lines");
    var reviewed = form.elements.seed_reviewed;
    var checkTimer = null, checkController = null, lastPaste = null;

    var span = function (className, text) {
      var element = document.createElement("span");
      element.className = className;
      element.textContent = text;
      return element;
    };
    var drawLine = function (line) {
      var item = document.createElement("li");
      item.className = line.ok ? "found" : (line.invalid ? "invalid" : "missing");
      var head = span("line-head", "");
      head.append(span("line-no", "Line " + line.line), " ", span("line-text", line.text));
      var result = span("line-result", "");
      result.append(span("tag", line.ok ? "Found" : (line.invalid ? "Not valid" : "Not found")), " ");
      if (line.ok) {
        var link = document.createElement("a");
        link.href = line.url;
        link.rel = "noopener noreferrer";
        link.textContent = line.title;
        result.append(link);
      } else {
        result.append(line.problem);
      }
      item.append(head, " ", result);
      return item;
    };
    var draw = function (data) {
      status.textContent = data.error || data.summary;
      list.replaceChildren.apply(list, (data.lines || []).map(drawLine));
      // The person has now seen this paste checked: sending it needs no review step.
      if (reviewed && data.fingerprint) reviewed.value = data.fingerprint;
    };
    var runCheck = function () {
      var text = paste.value;
      if (text === lastPaste) return;
      lastPaste = text;
      if (checkController) checkController.abort();
      checkController = window.AbortController ? new AbortController() : null;
      var body = new URLSearchParams();
      body.set("seed_references", text);
      fetch(check.getAttribute("data-check-url"), {
        method: "POST",
        body: body,
        signal: checkController && checkController.signal,
        headers: { "X-CSRFToken": form.elements.csrfmiddlewaretoken.value, "Accept": "application/json" },
        credentials: "same-origin"
      })
        .then(function (response) { return response.json(); })
        .then(draw)
        .catch(function () { /* aborted or offline: the form checks again when sent */ });
    };
    paste.addEventListener("input", function () {
      clearTimeout(checkTimer);
      checkTimer = setTimeout(runCheck, 400);
    });
  }

  var results = document.getElementById("preview-results");
  if (!results || !window.fetch) return;
  var url = results.getAttribute("data-preview-url");
  var timer = null, controller = null, last = "";

  function query() {
    var params = new URLSearchParams();
    params.set("interests", form.elements.interests_text.value);
    params.set("keywords", form.elements.keywords.value);
    form.querySelectorAll("input[name=categories]:checked").forEach(function (box) {
      params.append("categories", box.value);
    });
    return params.toString();
  }

  function refresh() {
    var q = query();
    if (q === last) return;
    last = q;
    if (controller) controller.abort();
    controller = window.AbortController ? new AbortController() : null;
    results.setAttribute("aria-busy", "true");
    fetch(url + "?" + q, { signal: controller && controller.signal, headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null) results.innerHTML = html; })
      .catch(function () { /* aborted or offline: keep the last preview */ })
      .finally(function () { results.removeAttribute("aria-busy"); });
  }

  function schedule(event) {
    if (!event.target.matches("[data-preview-input]")) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 350);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  if (form.elements.interests_text.value.trim()) refresh();
})();

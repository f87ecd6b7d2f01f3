// Progressive enhancement for the subscribe and preferences forms; both work without it.
// 1. Guess the time zone from the browser. 2. Live preview of matching papers while typing.
// 3. Show the weekday picker only for weekly digests.
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

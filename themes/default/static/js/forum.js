/* Shequn: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  // Confirm before destructive buttons.
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
  // Recent timestamps read better as "3 minutes ago"; the server writes absolute times so that
  // cached pages stay right, and the exact time stays in the title.
  if (window.Intl && Intl.RelativeTimeFormat) {
    var rtf = new Intl.RelativeTimeFormat(document.documentElement.lang || "zh-Hans", { numeric: "auto" });
    var now = Date.now();
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var secs = (Date.parse(el.getAttribute("datetime")) - now) / 1000;
      var abs = Math.abs(secs);
      if (isNaN(secs) || abs > 6 * 86400) return;
      var text = abs < 45 ? rtf.format(0, "second")
        : abs < 3600 ? rtf.format(Math.round(secs / 60), "minute")
        : abs < 86400 ? rtf.format(Math.round(secs / 3600), "hour")
        : rtf.format(Math.round(secs / 86400), "day");
      el.textContent = text;
    });
  }
  // Composer drafts: kept in localStorage until the post goes through, so an error, an expired
  // session or a closed tab never loses a long post.
  var store;
  try { store = window.localStorage; } catch (err) { store = null; }
  if (!store) return;
  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    var key = "shequn-draft:" + form.getAttribute("data-draft");
    var fields = form.querySelectorAll("textarea, input[name=title]");
    var note = form.querySelector(".draft-note");
    var saved = null;
    try { saved = JSON.parse(store.getItem(key) || "null"); } catch (err) { saved = null; }
    var hasServerErrors = form.querySelector(".error");
    if (saved && !hasServerErrors) {
      fields.forEach(function (f) {
        if (saved[f.name] && !f.value.trim()) f.value = saved[f.name];
      });
    }
    var timer;
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var data = {};
        fields.forEach(function (f) { data[f.name] = f.value; });
        store.setItem(key, JSON.stringify(data));
        if (note) note.hidden = false;
      }, 400);
    });
  });
  // The server names the draft whose post went through; forget it.
  var done = document.querySelector('meta[name="clear-draft"]');
  if (done) store.removeItem("shequn-draft:" + done.getAttribute("content"));
})();

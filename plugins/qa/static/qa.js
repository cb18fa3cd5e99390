// Similar questions while a question's title is typed (progressive: the composer works without it).
(function () {
  "use strict";
  var box = document.querySelector("[data-qa-similar]");
  if (!box) return;
  var form = box.closest("form");
  var kind = form && form.querySelector("input[name=kind]");
  var title = form && form.querySelector("input[name=title]");
  if (!title || !kind || kind.value !== "question") return;
  var field = title.closest(".field") || title.parentNode;
  field.parentNode.insertBefore(box, field.nextSibling);
  var list = box.querySelector("ul");
  var timer = null;
  var asked = "";
  function show(results) {
    list.textContent = "";
    results.forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = r.url;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = r.title;
      li.appendChild(a);
      list.appendChild(li);
    });
    box.hidden = results.length === 0;
  }
  function ask() {
    var q = title.value.trim();
    if (q === asked) return;
    asked = q;
    if (q.length < 2) { show([]); return; }
    fetch(box.getAttribute("data-qa-similar") + "?q=" + encodeURIComponent(q), {
      headers: { Accept: "application/json" }, credentials: "same-origin"
    }).then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) { if (q === asked) show(data.results || []); })
      .catch(function () { show([]); });
  }
  title.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 350);
  });
})();

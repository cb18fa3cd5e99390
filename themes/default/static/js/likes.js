/* Shequn: like and unlike without reloading the page, for posts and for plugins' items (a
   check-in). The like buttons are plain forms (class like-form) inside a container that
   carries the two labels (data-like-label, data-liked-label); they work without this file.
   This sends the same form with fetch, asks for JSON ({liked, count}) and updates the
   button. A form posts to .../like or .../unlike, and its action is switched to the other
   one; a form marked data-toggle-url posts to one URL both ways. On any failure it submits
   the form normally, so the server's page says what went wrong. */
(function () {
  "use strict";
  if (!window.fetch || !window.FormData) return;
  document.querySelectorAll("[data-like-label]").forEach(function (container) {
    var labels = {
      like: container.getAttribute("data-like-label"),
      liked: container.getAttribute("data-liked-label")
    };
    container.addEventListener("submit", function (e) {
      var form = e.target;
      if (!form.classList || !form.classList.contains("like-form")) return;
      e.preventDefault();
      var button = form.querySelector(".like-button");
      if (!button || button.disabled) return;
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          var liked = !!data.liked;
          if (!form.hasAttribute("data-toggle-url")) {
            form.action = form.action.replace(/\/(un)?like$/, liked ? "/unlike" : "/like");
          }
          button.setAttribute("aria-pressed", liked ? "true" : "false");
          button.querySelector(".like-label").textContent = liked ? labels.liked : labels.like;
          button.querySelector(".like-count").textContent = data.count > 0 ? String(data.count) : "";
          button.disabled = false;
        })
        .catch(function () {
          button.disabled = false;
          form.submit();
        });
    });
  });
})();

// Classifieds: choosing a category re-renders the form with its fields at once, and the
// market's category filter applies itself. Without this script the pages work the same
// through their buttons (the listing form's "Show its fields" is then shown).
(function () {
  "use strict";
  document.querySelectorAll("select[data-reload]").forEach(function (select) {
    var button = select.form && select.form.querySelector('button[name="reload"]');
    if (button) button.hidden = true;
  });
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.form) return;
    if (input.hasAttribute("data-reload")) {
      var button = input.form.querySelector('button[name="reload"]');
      if (button) button.click();
    } else if (input.hasAttribute("data-autosubmit")) {
      if (input.form.requestSubmit) input.form.requestSubmit();
      else input.form.submit();
    }
  });
})();

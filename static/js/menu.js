// The header's links fold behind a "Menu" button on narrow screens. Without this script the
// links simply stay visible: the `js` class, set before the page is drawn, is what folds them.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  var button = document.querySelector(".menu-button");
  if (!button) { return; }
  var nav = button.closest("nav");
  button.addEventListener("click", function () {
    var open = nav.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
});

// Panels that are open on a wide screen (the catalogue's filters) start folded on a phone.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.matchMedia("(max-width: 768px)").matches) { return; }
  document.querySelectorAll("details[data-fold-on-phone]").forEach(function (details) { details.open = false; });
});

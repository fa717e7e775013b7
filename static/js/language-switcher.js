// A language switcher applies the chosen language at once: choosing is the whole action, so its
// "Change" button folds away (tessera.css hides it once the `js` class is set) and the form is sent
// on change. Without this script the button stays and sends the form.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("form[data-submit-on-change] select")) { return; }
  select.form.submit();
});

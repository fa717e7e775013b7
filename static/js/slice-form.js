// The slice request form shows the video-duration fields only when videos can be chosen:
// picking "Images" hides and empties them (a duration filter would refuse an image slice).
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches(".slice-form select[name$='kind']")) { return; }
  var form = select.form;
  form.setAttribute("data-kind", select.value);
  if (select.value === "image") {
    form.querySelectorAll(".video-only input").forEach(function (input) { input.value = ""; });
  }
}, true);

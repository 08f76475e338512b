// discvault's web UI: the little that needs a script of its own (the policy allows no inline
// script). A task's page follows its task through the API's server-sent events.
(function () {
  "use strict";
  function follow() {
    var el = document.getElementById("task");
    if (!el || el.dataset.ended === "true" || !window.EventSource) return;
    var src = new EventSource("/api/v1/tasks/" + encodeURIComponent(el.dataset.task) + "/events");
    src.addEventListener("task", function (ev) {
      var t = JSON.parse(ev.data);
      var state = document.getElementById("task-state");
      var progress = document.getElementById("task-progress");
      if (state) state.textContent = el.dataset[t.state] || t.state;
      if (progress) progress.textContent = t.progress;
      if (["queued", "running"].indexOf(t.state) < 0) {
        src.close();
        // The whole page again: the result, the error, no cancel button.
        window.location.reload();
      }
    });
  }
  // A button that prints the page (a pick list for the reading room).
  function printing() {
    var buttons = document.querySelectorAll("button[data-print]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function () { window.print(); });
    }
  }
  function ready() { follow(); printing(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();

// The fleet page: "select all on this page" and a count on the update button.
// Without it the checkboxes and the GET form still work one by one.
"use strict";
(function () {
  const form = document.getElementById("fleet-form");
  const all = document.getElementById("select-all");
  const button = document.getElementById("update-selected");
  if (!form || !all || !button) return;
  const boxes = () => Array.from(form.querySelectorAll('input[name="mac"]'));
  const label = button.textContent;

  function refresh() {
    const chosen = boxes().filter((b) => b.checked).length;
    button.disabled = chosen === 0;
    button.textContent = chosen ? `${label.replace("…", "")} (${chosen})…` : label;
    all.checked = chosen > 0 && chosen === boxes().length;
  }

  all.addEventListener("change", () => {
    boxes().forEach((b) => { b.checked = all.checked; });
    refresh();
  });
  form.addEventListener("change", (event) => {
    if (event.target !== all) refresh();
  });
  refresh();
})();

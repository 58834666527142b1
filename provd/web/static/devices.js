// The CSV page and the claim sheet: small conveniences only; both work without it.
"use strict";
(function () {
  // Printing needs script; without it the browser's own Print does the same.
  const print = document.getElementById("print-sheet");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", () => window.print());
  }

  // Say what was picked and keep the import button off until there is a file.
  const input = document.getElementById("csv-file");
  const submit = document.getElementById("csv-import");
  if (input && submit) {
    const sync = () => { submit.disabled = !input.files || input.files.length === 0; };
    input.addEventListener("change", sync);
    sync();
  }
})();

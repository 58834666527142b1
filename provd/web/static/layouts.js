// Key layout editor: module pages as tabs, and the key form opened in place when a
// key is clicked. Without this script every page is shown and a key is a link that
// opens its form; saving is a plain form post either way.
"use strict";
(function () {
  const editor = document.getElementById("editor");
  if (!editor) return;
  document.body.classList.add("js");

  // --- module pages as tabs ---------------------------------------------------------
  function showPage(module, page) {
    const section = document.querySelector(`.module[data-module="${module}"]`);
    if (!section) return;
    section.querySelectorAll(".module-page").forEach((el) => {
      el.classList.toggle("active", el.dataset.page === `${module}:${page}`);
    });
    section.querySelectorAll(".page-tab").forEach((tab) => {
      tab.setAttribute("aria-selected", tab.dataset.pageTab === `${module}:${page}` ? "true" : "false");
    });
  }
  document.querySelectorAll(".page-tabs").forEach((tabs) => { tabs.hidden = false; });
  document.addEventListener("click", (event) => {
    const tab = event.target.closest(".page-tab");
    if (!tab) return;
    const [module, page] = tab.dataset.pageTab.split(":");
    showPage(module, page);
  });

  // --- the key form -------------------------------------------------------------------
  const form = editor.querySelector(".key-form");
  const title = editor.querySelector("#editor-title");
  const hint = editor.querySelector(".editor-hint");
  const lockedNote = editor.querySelector(".editor-locked");
  const source = editor.querySelector(".editor-source");
  const fn = form.querySelector("#key-function");
  const target = form.querySelector("#key-target");
  const targetUser = form.querySelector("#key-target-user");
  const targetText = form.querySelector(".target-text");
  const targetUserBox = form.querySelector(".target-user");
  const targetHint = form.querySelector(".target-hint");
  const locked = form.querySelector("#key-locked");
  const error = form.querySelector(".key-form-error");

  function syncTarget() {
    const option = fn.selectedOptions[0];
    const kind = option ? option.dataset.targetKind : "";
    const wantsUser = kind === "extension" && targetUser !== null;
    if (targetUserBox) {
      targetUserBox.hidden = !wantsUser;
      targetUser.disabled = !wantsUser;
    }
    targetText.hidden = wantsUser || kind === "nothing";
    target.disabled = targetText.hidden;
    targetHint.textContent = option ? `Target: ${option.dataset.hint}` : "";
  }

  function open(key) {
    const d = key.dataset;
    document.querySelectorAll(".key.is-selected").forEach((el) => el.classList.remove("is-selected"));
    key.classList.add("is-selected");
    title.textContent = `Key ${d.key}`;
    hint.hidden = true;
    form.hidden = false;
    error.hidden = true;
    form.querySelector("#key-location").value = d.key;
    fn.value = d.function || "blf";
    target.value = d.target;
    if (targetUser) targetUser.value = [...targetUser.options].some((o) => o.value === d.target) ? d.target : "";
    form.querySelector("#key-label").value = d.label;
    if (locked) locked.checked = d.locked === "1";
    const editable = d.editable === "1";
    lockedNote.hidden = editable;
    lockedNote.querySelector(".locked-by").textContent = d.lockedBy;
    form.querySelectorAll("input, select, button").forEach((el) => {
      if (el.type !== "hidden") el.disabled = !editable;
    });
    syncTarget();
    if (!editable) form.querySelectorAll("input, select").forEach((el) => { el.disabled = true; });
    source.hidden = false;
    source.querySelector(".source-text").textContent =
      d.source === "here" ? "set here" : (d.source || "not set");
    const url = new URL(window.location.href);
    url.searchParams.set("key", d.key);
    ["saved", "cleared", "described", "nothing"].forEach((p) => url.searchParams.delete(p));
    history.replaceState(null, "", url.pathname + url.search);
    if (window.matchMedia("(max-width: 900px)").matches) editor.scrollIntoView({ block: "start" });
    (editable ? fn : title).focus({ preventScroll: true });
  }

  document.addEventListener("click", (event) => {
    const key = event.target.closest("a.key");
    if (!key || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    open(key);
  });
  fn.addEventListener("change", syncTarget);
  syncTarget();
})();

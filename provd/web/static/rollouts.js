// A rollout's page, live: follows /api/v1/rollouts/{id}/events (server-sent events,
// the session cookie authenticates) and moves the bar, the counts, the device rows
// and the controls. Without it the page shows the rollout as it was when loaded.
"use strict";
(function () {
  const root = document.querySelector("[data-rollout]");
  if (!root || root.dataset.finished === "1" || !window.EventSource) return;
  const id = root.dataset.rollout;
  const BADGES = {
    running: "ok", paused: "warn", cancelled: "idle", halted: "bad", done: "ok",
    pending: "idle", notified: "warn", fetched: "warn", failed: "bad", timed_out: "bad",
  };
  const FINAL = ["done", "failed", "timed_out"];
  const $ = (selector) => root.querySelector(selector);

  function badge(el, state, text) {
    el.className = el.className.replace(/\b(ok|warn|idle|bad)\b/g, "").trim() + " " + (BADGES[state] || "idle");
    el.textContent = text;
  }

  function showState(state, reason) {
    const el = $("#rollout-state");
    badge(el, state, state);
    el.dataset.state = state;
    const reasonEl = $("#rollout-reason");
    reasonEl.textContent = reason || "";
    reasonEl.hidden = !reason;
    reasonEl.className = "flash " + (state === "halted" ? "error" : "warn");
    $(".control-pause").hidden = state !== "running";
    $(".control-resume").hidden = state !== "paused";
    $(".control-cancel").hidden = state !== "running" && state !== "paused";
  }

  function showProgress(view) {
    const finished = FINAL.reduce((sum, s) => sum + (view.counts[s] || 0), 0);
    const bar = $("#rollout-bar");
    bar.max = view.total || 1;
    bar.value = finished;
    bar.textContent = `${finished} of ${view.total}`;
    $("#rollout-final").textContent = finished;
    $("#rollout-total").textContent = view.total;
    $("#rollout-in-flight").textContent = view.in_flight;
    $("#rollout-rate").textContent = view.devices_per_minute;
    Object.entries(view.counts).forEach(([state, count]) => {
      const cell = $(`#count-${state}`);
      if (cell) cell.textContent = count;
    });
    showState(view.state, view.reason);
  }

  function showDevice(mac, state, reason, updatedAt, highlight) {
    const row = root.querySelector(`tr[data-mac="${mac}"]`);
    if (!row) return;
    row.dataset.state = state;
    badge(row.querySelector(".device-state"), state, state.replace("_", " "));
    row.querySelector(".device-reason").textContent = reason || "";
    if (updatedAt) {
      const time = row.querySelector(".device-updated time");
      time.dateTime = updatedAt;
      time.textContent = updatedAt.slice(11, 19);
    }
    if (highlight) row.classList.add("changed");
  }

  const live = $("#rollout-live");
  const events = new EventSource(`/api/v1/rollouts/${id}/events`);
  events.addEventListener("open", () => { live.hidden = false; });
  events.addEventListener("snapshot", (e) => {
    const view = JSON.parse(e.data);
    showProgress(view);
    (view.devices || []).forEach((d) => showDevice(d.mac, d.state, d.reason, d.updated_at));
  });
  events.addEventListener("progress", (e) => showProgress(JSON.parse(e.data)));
  events.addEventListener("device", (e) => {
    const event = JSON.parse(e.data);
    const after = event.after || {};
    if (after.state) showDevice(event.mac, after.state, after.reason, event.at, true);
  });
  events.addEventListener("rollout", (e) => {
    const after = JSON.parse(e.data).after || {};
    if (after.state) showState(after.state, after.reason);
  });
  events.addEventListener("end", () => {
    events.close();
    live.hidden = true;
    root.dataset.finished = "1";
  });
  // The browser reconnects on its own after a network error (Last-Event-ID: nothing lost).
  window.addEventListener("pagehide", () => events.close());
})();

// provd installer page: pick a user and a model, scan labels, claim, watch phones come alive.
// The page works as a plain form without this file; this adds the live camera,
// machine-gun scanning (one model, many labels in a row) and live status.
"use strict";
(function () {
  const form = document.getElementById("claim-form");
  if (!form || !window.provd) return;
  const send = window.provd.send;
  const isAdmin = form.dataset.admin === "true";
  const tenant = form.dataset.tenant;
  const $ = (id) => document.getElementById(id);
  const userList = $("user-list");
  const search = $("user-search");
  const modelSelect = $("model");
  const selection = $("selection");
  const feedback = $("scan-feedback");
  const claimsList = $("claims");
  const announce = $("announce");
  const video = $("camera");
  const startButton = $("camera-start");
  const stopButton = $("camera-stop");
  const photo = $("photo");
  const macInput = $("mac");
  const POLL_MS = 2000;
  const FRAME_MS = 330;
  // Numeric-only symbologies never carry a MAC (an EAN-13 read as UPC-A is 12 digits).
  const RETAIL = new Set(["ean_13", "ean_8", "upc_a", "upc_e", "itf"]);

  document.querySelectorAll(".nojs-only").forEach((el) => { el.hidden = true; });
  document.body.classList.add("js");

  function scoped(url) {
    if (!isAdmin) return url;
    return url + (url.includes("?") ? "&" : "?") + "tenant=" + encodeURIComponent(tenant);
  }

  function say(text, kind) {
    feedback.textContent = text;
    feedback.className = "feedback" + (kind ? " " + kind : "");
  }

  // --- the choice: user (or spare) and model ------------------------------------------

  function chosenUser() {
    const checked = userList.querySelector("input[name=extension]:checked");
    if (!checked) return null;
    const text = checked.closest("label").querySelector("span").textContent.replace(/\s+/g, " ").trim();
    return { extension: checked.value || null, text: checked.value ? text.split(" · ")[0] : "a spare phone" };
  }

  function chosenModel() {
    const option = modelSelect.options[modelSelect.selectedIndex];
    return { id: option.value, label: option.textContent };
  }

  function showSelection() {
    const user = chosenUser();
    selection.textContent = user
      ? "Scanning " + chosenModel().label + " phones for " + user.text + "."
      : "Choose a user (or Spare) first.";
    selection.classList.toggle("missing", !user);
  }

  function userChoice(u, checked) {
    const label = document.createElement("label");
    label.className = "choice";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "extension";
    input.value = u.extension;
    input.checked = checked;
    const span = document.createElement("span");
    const ext = document.createElement("strong");
    ext.className = "mono";
    ext.textContent = u.extension;
    span.append(ext, " " + u.name);
    if (u.devices) {
      const more = document.createElement("span");
      more.className = "muted";
      more.textContent = " · " + u.devices + (u.devices === 1 ? " phone" : " phones");
      span.append(more);
    }
    label.append(input, span);
    return label;
  }

  let searchTimer = null;
  let searchSeq = 0;
  async function runSearch() {
    const seq = ++searchSeq;
    const q = search.value.trim();
    const result = await send("GET", scoped("/api/v1/installer/users?q=" + encodeURIComponent(q)));
    if (seq !== searchSeq || !result.ok) return;
    const current = chosenUser();
    userList.querySelectorAll("label.choice:not(.spare)").forEach((el) => el.remove());
    for (const u of result.data) {
      userList.append(userChoice(u, current !== null && current.extension === u.extension));
    }
    $("user-none").hidden = result.data.length > 0;
    showSelection();
  }
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 250);
  });
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); });
  userList.addEventListener("change", showSelection);
  modelSelect.addEventListener("change", showSelection);
  showSelection();

  // --- feedback: beep and buzz ---------------------------------------------------------

  let audio = null;
  function unlockAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) audio = new Ctx();
    if (audio && audio.state === "suspended") audio.resume();
  }
  function beep(ok) {
    if (audio) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = ok ? 1760 : 330;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + (ok ? 0.12 : 0.35));
    }
    if (navigator.vibrate && navigator.userActivation && navigator.userActivation.hasBeenActive) {
      navigator.vibrate(ok ? 80 : [60, 60, 60]);
    }
  }

  // --- the list of scanned phones ------------------------------------------------------

  const BADGE = { waiting: "idle", fetched: "warn", sealed: "warn", registered: "ok", unclaimed: "bad" };
  const entries = new Map(); // mac -> {el, state, refusedFor}

  function entryElement(mac) {
    const li = document.createElement("li");
    li.className = "claim";
    li.dataset.mac = mac;
    li.innerHTML =
      '<div class="claim-head"><span class="mono mac"></span><span class="badge state"></span></div>' +
      '<div class="who"></div><div class="reported muted"></div><div class="hint"></div>';
    li.querySelector(".mac").textContent = mac;
    claimsList.prepend(li);
    $("claims-empty").hidden = true;
    return li;
  }

  function showStatus(entry, s) {
    const li = entry.el;
    const changed = entry.state !== s.state;
    entry.state = s.state;
    li.dataset.state = s.state;
    const badge = li.querySelector(".state");
    badge.className = "badge state " + (BADGE[s.state] || "idle");
    badge.textContent = (s.state === "registered" ? "✔ " : "") + s.label;
    const reported = [];
    if (s.reported_model) reported.push(s.reported_model);
    if (s.reported_firmware) reported.push("firmware " + s.reported_firmware);
    if (s.ip) reported.push(s.ip);
    if (s.last_contact_at) reported.push("seen " + new Date(s.last_contact_at).toLocaleTimeString());
    li.querySelector(".reported").textContent = reported.join(" · ");
    li.querySelector(".hint").textContent = s.hint;
    if (changed) announce.textContent = s.mac + ": " + s.label;
  }

  function addClaimed(result, userText) {
    const entry = { el: entryElement(result.mac), state: null, claimed: true };
    entries.set(result.mac, entry);
    entry.el.querySelector(".who").textContent = userText + " · " + chosenModel().label;
    showStatus(entry, result.status);
  }

  function addRefused(mac, message, selectionKey) {
    let entry = entries.get(mac);
    if (!entry) {
      entry = { el: entryElement(mac), state: "refused", claimed: false };
      entries.set(mac, entry);
    }
    entry.refusedFor = selectionKey;
    entry.el.dataset.state = "refused";
    entry.el.classList.add("refused");
    const badge = entry.el.querySelector(".state");
    badge.className = "badge state bad";
    badge.textContent = "Refused";
    entry.el.querySelector(".who").textContent = message;
    entry.el.querySelector(".hint").textContent = "";
    announce.textContent = mac + " refused: " + message;
  }

  // Server-rendered claims (the form without JavaScript) are followed too.
  claimsList.querySelectorAll("li.claim").forEach((li) => {
    entries.set(li.dataset.mac, { el: li, state: li.dataset.state, claimed: true });
  });

  // --- claiming ------------------------------------------------------------------------

  let lastMac = null;
  let claiming = false;

  function normalise(text) {
    const cleaned = String(text).trim().replace(/^MAC(\s*ADDR(ESS)?)?\s*[:=#]?\s*/i, "").replace(/[\s:.\-]/g, "").toLowerCase();
    return /^[0-9a-f]{12}$/.test(cleaned) ? cleaned : null;
  }

  async function claimMac(mac) {
    const user = chosenUser();
    if (!user) {
      say("Choose a user (or Spare) before scanning.", "bad");
      return;
    }
    const model = chosenModel();
    const key = model.id + "/" + (user.extension || "");
    // The same label twice in a row, or a phone already in the list: not claimed again.
    const known = entries.get(mac);
    if (mac === lastMac || (known && (known.claimed || known.refusedFor === key))) {
      if (mac !== lastMac) say(mac + " is already in the list.", "");
      lastMac = mac;
      return;
    }
    lastMac = mac;
    claiming = true;
    say("Claiming " + mac + "…", "");
    const body = { mac: mac, model: model.id, extension: user.extension };
    if (isAdmin) body.tenant = tenant;
    try {
      const result = await send("POST", "/api/v1/claims", body);
      if (result.ok) {
        addClaimed(result.data, user.extension ? user.text : "Spare");
        say("Claimed " + mac + " for " + user.text + ": plug it in.", "ok");
        beep(true);
      } else {
        const error = (result.data && result.data.error) || {};
        addRefused(mac, error.message || "refused (" + result.status + ")", key);
        say(mac + " refused: " + (error.message || result.status), "bad");
        beep(false);
      }
    } finally {
      claiming = false;
    }
  }

  function macsFromDetector(codes) {
    const macs = [];
    for (const code of codes) {
      if (RETAIL.has(code.format)) continue;
      const mac = normalise(code.rawValue);
      if (mac && !macs.includes(mac)) macs.push(mac);
    }
    return macs;
  }

  async function handleReading(reading) {
    if (reading.mac) {
      await claimMac(reading.mac);
    } else if (reading.macs && reading.macs.length > 1) {
      say("Several MAC-like codes on this label: aim at the one marked MAC.", "warn");
    } else if (reading.message && !claiming) {
      say(reading.message, "");
    }
  }

  // --- the camera ------------------------------------------------------------------------

  let stream = null;
  let frameTimer = null;
  let busy = false;
  const canvas = document.createElement("canvas");
  const detector = "BarcodeDetector" in window ? new window.BarcodeDetector() : null;

  async function scanFrame() {
    if (busy || claiming || !stream || video.readyState < 2) return;
    busy = true;
    try {
      if (detector) {
        const macs = macsFromDetector(await detector.detect(video));
        await handleReading({ mac: macs.length === 1 ? macs[0] : null, macs: macs, message: "" });
        return;
      }
      // No BarcodeDetector (Chromium on Linux, Firefox): the server decodes the frame.
      const scale = Math.min(1, 960 / (video.videoWidth || 960));
      canvas.width = Math.round((video.videoWidth || 640) * scale);
      canvas.height = Math.round((video.videoHeight || 480) * scale);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
      if (!blob || !stream) return;
      const data = new FormData();
      data.append("image", blob, "frame.jpg");
      const result = await send("POST", "/api/v1/labels/decode", data);
      if (result.ok) await handleReading(result.data);
    } catch (e) {
      say("Could not read the camera image: " + e.message, "bad");
    } finally {
      busy = false;
    }
  }

  async function startCamera() {
    unlockAudio();
    if (!chosenUser()) {
      say("Choose a user (or Spare) before scanning.", "bad");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 } },
        audio: false,
      });
    } catch (e) {
      say("The camera is not available (" + e.name + "): take a photo instead.", "bad");
      return;
    }
    video.srcObject = stream;
    await video.play();
    $("viewfinder").hidden = false;
    startButton.hidden = true;
    stopButton.hidden = false;
    lastMac = null;
    say("Hold a label in the frame: each MAC is claimed as soon as it is read.", "");
    frameTimer = setInterval(scanFrame, FRAME_MS);
  }

  function stopCamera() {
    clearInterval(frameTimer);
    frameTimer = null;
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
    $("viewfinder").hidden = true;
    startButton.hidden = false;
    stopButton.hidden = true;
    say("Camera stopped.", "");
  }

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    startButton.hidden = false;
    startButton.addEventListener("click", startCamera);
    stopButton.addEventListener("click", stopCamera);
  }

  // --- the photo fallback and the typed MAC ---------------------------------------------

  photo.addEventListener("change", async () => {
    unlockAudio();
    const file = photo.files && photo.files[0];
    if (!file) return;
    say("Reading the photo…", "");
    const data = new FormData();
    data.append("image", file, file.name || "label.jpg");
    const result = await send("POST", "/api/v1/labels/decode", data);
    photo.value = "";
    if (!result.ok) {
      say((result.data && result.data.error && result.data.error.message) || "could not read the photo", "bad");
      return;
    }
    lastMac = null; // a photo is a deliberate retry
    if (!result.data.mac) {
      say(result.data.message, "warn");
      return;
    }
    await claimMac(result.data.mac);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    unlockAudio();
    const mac = normalise(macInput.value);
    if (!mac) {
      say("A MAC is 12 hexadecimal digits, e.g. 00:15:65:AA:BB:CC.", "bad");
      macInput.focus();
      return;
    }
    lastMac = null;
    await claimMac(mac);
    macInput.value = "";
  });

  // --- live status -----------------------------------------------------------------------

  async function poll() {
    const macs = [...entries.entries()].filter(([, e]) => e.claimed).map(([mac]) => mac).slice(0, 100);
    if (macs.length && !document.hidden) {
      const query = macs.map((m) => "mac=" + encodeURIComponent(m)).join("&");
      const result = await send("GET", scoped("/api/v1/claims/status?" + query));
      if (result.ok) {
        for (const s of result.data) {
          const entry = entries.get(s.mac);
          if (entry && entry.claimed) showStatus(entry, s);
        }
      }
    }
    setTimeout(poll, POLL_MS);
  }
  setTimeout(poll, entries.size ? 0 : POLL_MS);

  // --- discovered phones -----------------------------------------------------------------

  const discovered = $("discovered");
  async function loadDiscovered() {
    const result = await send("GET", scoped(discovered.dataset.url));
    if (result.ok && Array.isArray(result.data)) {
      const list = $("discovered-list");
      list.replaceChildren();
      for (const d of result.data) {
        const mac = normalise(d.mac);
        if (!mac || entries.has(mac)) continue;
        const li = document.createElement("li");
        const text = document.createElement("span");
        text.innerHTML = '<span class="mono"></span> <span class="muted"></span>';
        text.firstChild.textContent = mac;
        text.lastChild.textContent = [d.vendor, d.model, d.ip, d.source].filter(Boolean).join(" · ");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "primary";
        button.textContent = "Claim for the selected user";
        button.addEventListener("click", async () => {
          unlockAudio();
          lastMac = null;
          button.disabled = true;
          await claimMac(mac);
          li.remove();
        });
        li.append(text, button);
        list.append(li);
      }
      $("discovered-empty").hidden = list.children.length > 0;
    }
    setTimeout(loadDiscovered, 10000);
  }
  if (discovered) loadDiscovered();
})();

// snapclip web page: submit a URL or a file, follow the job's progress (Server-Sent Events),
// then show the clips. Everything goes through the REST API under /v1 (see /docs).
"use strict";

const $ = (id) => document.getElementById(id);
let events = null;   // the EventSource of the job on screen
const stageRows = new Map();

async function api(path, init = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...init });
  if (response.status === 401) { showLogin(); throw new Error("sign in first"); }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return response.status === 204 ? null : response.json();
}

function showLogin() {
  $("login").hidden = false;
  for (const id of ["new-job", "job", "recent"]) $(id).hidden = true;
}

async function start() {
  const check = await fetch("/v1/session", { credentials: "same-origin" });
  if (check.status === 401) { showLogin(); return; }
  $("login").hidden = true;
  $("new-job").hidden = false;
  $("recent").hidden = false;
  await listJobs();
  const match = location.hash.match(/^#job=([0-9a-f]+)$/);
  if (match) openJob(match[1]);
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-error").textContent = "";
  const response = await fetch("/v1/session", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: $("token").value }),
  });
  if (response.ok) { $("token").value = ""; start(); }
  else $("login-error").textContent = "That token was not accepted.";
});

for (const radio of document.querySelectorAll("input[name=kind]")) {
  radio.addEventListener("change", () => {
    const file = document.querySelector("input[name=kind]:checked").value === "file";
    $("file").hidden = !file;
    $("url").hidden = file;
  });
}

function options() {
  return {
    clips: Number($("clips").value), min_len_s: Number($("min-len").value),
    max_len_s: Number($("max-len").value),
    // Every checked format, in the form's order; the first is each clip's main file.
    aspect: [...document.querySelectorAll("input[name=aspect]:checked")]
      .map((box) => box.value).join(",") || "9:16",
    captions: $("captions").checked, caption_style: $("caption-style").value,
    split_screen: $("split-screen").checked,
    ...($("prompt").value.trim() ? {prompt: $("prompt").value.trim()} : {}),
  };
}

function upload(file) {
  // XMLHttpRequest, not fetch: it reports upload progress.
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("file", file);
    form.append("options", JSON.stringify(options()));
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/jobs/upload");
    const bar = $("upload-progress");
    bar.hidden = false;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
    xhr.onload = () => {
      bar.hidden = true;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status === 401) { showLogin(); reject(new Error("sign in first")); }
      else if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new Error(body.detail || `upload failed (${xhr.status})`));
    };
    xhr.onerror = () => { bar.hidden = true; reject(new Error("upload failed: network error")); };
    xhr.send(form);
  });
}

$("job-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("submit-error").textContent = "";
  const kind = document.querySelector("input[name=kind]:checked").value;
  $("submit").disabled = true;
  try {
    let job;
    if (kind === "file") {
      const file = $("file").files[0];
      if (!file) throw new Error("choose a video or audio file first");
      job = await upload(file);
    } else {
      const source = $("url").value.trim();
      if (!source) throw new Error("paste a video URL first");
      job = await api("/v1/jobs", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ source, options: options() }),
      });
    }
    openJob(job.id);
    listJobs();
  } catch (err) {
    $("submit-error").textContent = err.message;
  } finally {
    $("submit").disabled = false;
  }
});

async function listJobs() {
  const list = $("jobs-list");
  const page = await api("/v1/jobs?page_size=10");
  list.replaceChildren(...page.jobs.map((job) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.textContent = `${job.source.split("/").pop()} — ${job.state.toLowerCase()}`;
    link.addEventListener("click", () => openJob(job.id));
    item.append(link, ` ${new Date(job.created_at).toLocaleString()}`);
    return item;
  }));
}

function openJob(id) {
  if (events) events.close();
  stageRows.clear();
  $("stages").tBodies[0].replaceChildren();
  $("results").hidden = true;
  $("ready").replaceChildren("Ready to watch:");
  $("ready").hidden = true;
  $("job-error").textContent = "";
  $("job").hidden = false;
  $("job-id").textContent = id;
  history.replaceState(null, "", `#job=${id}`);
  api(`/v1/jobs/${id}`).then(showJob).catch((err) => { $("job-error").textContent = err.message; });
  events = new EventSource(`/v1/jobs/${id}/events`);
  events.addEventListener("progress", (e) => showEvent(JSON.parse(e.data)));
  // Each clip as soon as it is rendered, before the job ends: a link to watch it now.
  events.addEventListener("clip_ready", (e) => {
    const { clip } = JSON.parse(e.data);
    $("ready").hidden = false;
    const watch = link(fileUrl(id, clip.file), `#${clip.rank} ${clip.title} (${clip.start_s.toFixed(0)}–${clip.end_s.toFixed(0)} s)`);
    watch.removeAttribute("download");
    watch.target = "_blank";
    $("ready").append(" ", watch);
  });
  events.addEventListener("result", (e) => {
    events.close();
    events = null;
    const job = JSON.parse(e.data).result;
    for (const row of stageRows.values()) if (job.state === "SUCCEEDED") row.bar.value = 1;
    showJob(job);
    listJobs();
  });
}

function stageRow(stage) {
  let row = stageRows.get(stage);
  if (!row) {
    for (const before of stageRows.values()) before.bar.value = 1;  // a new stage: the others are done
    const tr = document.createElement("tr");
    tr.dataset.stage = stage;
    const name = document.createElement("td");
    name.className = "name";
    name.textContent = stage;
    const barCell = document.createElement("td");
    barCell.className = "bar";
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    barCell.append(bar);
    const message = document.createElement("td");
    message.className = "message";
    tr.append(name, barCell, message);
    $("stages").tBodies[0].append(tr);
    row = { bar, message };
    stageRows.set(stage, row);
  }
  return row;
}

function showEvent(event) {
  $("job-progress").value = event.progress;
  $("job-state").textContent = "RUNNING";
  $("cancel").hidden = false;
  const row = stageRow(event.stage);
  row.message.textContent = event.message;
  const counted = event.message.match(/(\d+)\/(\d+)$/);
  if (counted) row.bar.value = Number(counted[1]) / Math.max(1, Number(counted[2]));
}

function showJob(job) {
  $("job-source").textContent = job.source;
  $("job-state").textContent = job.state;
  $("job-progress").value = job.progress;
  const active = job.state === "QUEUED" || job.state === "RUNNING";
  $("cancel").hidden = !active;
  $("cancel").onclick = () => api(`/v1/jobs/${job.id}/cancel`, { method: "POST" })
    .then(showJob).catch((err) => { $("job-error").textContent = err.message; });
  if (job.error) $("job-error").textContent = job.error;
  if (job.state === "SUCCEEDED" && job.manifest_json) showResults(job.id, JSON.parse(job.manifest_json));
}

function fileUrl(id, name, revision) {
  // A re-rendered clip keeps its file name: the revision tells the browser it changed.
  return `/v1/jobs/${id}/files/${encodeURIComponent(name)}` + (revision > 1 ? `?r=${revision}` : "");
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  a.download = "";
  return a;
}

let shown = "";  // the job and clip revisions on screen: drawn again only when they change

function showResults(id, manifest) {
  const key = `${id}:${manifest.clips.map((clip) => clip.revision || 1).join(",")}`;
  if (key === shown && !$("results").hidden) return;  // an open clip editor stays open
  shown = key;
  $("results").hidden = false;
  $("timeline").src = fileUrl(id, "timeline.png");
  $("notes").textContent = [`Text signal: ${manifest.selection.text_signal}`,
    ...(manifest.selection.prompt ? [`Topic: “${manifest.selection.prompt}”`] : []),
    ...manifest.selection.notes].map((note) => note.replace(/\.?$/, ".")).join(" ");
  $("clips-list").replaceChildren(...manifest.clips.map((clip) => {
    const card = document.createElement("article");
    card.className = "clip";
    const video = document.createElement("video");
    video.controls = true;
    video.preload = "metadata";
    video.src = fileUrl(id, clip.file, clip.revision);
    // Its box has the clip's shape before the file's metadata arrives: nothing below it jumps.
    video.style.aspectRatio = (Object.keys(clip.renditions || {})[0] || manifest.selection.aspect).replace(":", " / ");
    const title = document.createElement("h3");
    title.textContent = `#${clip.rank} ${clip.title}`;
    const hook = document.createElement("p");
    hook.className = "hook";
    hook.textContent = clip.hook;
    const reason = document.createElement("p");
    reason.textContent = clip.reason;
    const scores = document.createElement("dl");
    const rows = { score: clip.score, ...clip.scores, "matches the topic": clip.prompt_match,
                   revision: clip.revision > 1 ? String(clip.revision) : null,
                   time: `${clip.start_s.toFixed(1)}–${clip.end_s.toFixed(1)} s`, origin: clip.origin };
    for (const [key, value] of Object.entries(rows)) {
      if (value === null || value === undefined) continue;
      const dt = document.createElement("dt");
      dt.textContent = key;
      const dd = document.createElement("dd");
      dd.textContent = typeof value === "number" ? value.toFixed(3) : value;
      scores.append(dt, dd);
    }
    const downloads = document.createElement("p");
    const renditions = Object.entries(clip.renditions && Object.keys(clip.renditions).length
      ? clip.renditions : {[manifest.selection.aspect]: clip.file});
    for (const [aspect, file] of renditions) {
      downloads.append(link(fileUrl(id, file, clip.revision), `clip ${aspect} (mp4)`), " · ");
    }
    downloads.append(link(fileUrl(id, clip.captions, clip.revision), "captions (srt)"));
    const edit = document.createElement("button");
    edit.type = "button";
    edit.className = "edit";
    edit.textContent = "Edit clip";
    edit.addEventListener("click", () => {
      edit.hidden = true;
      openEditor(id, manifest, clip, card).catch((err) => { edit.hidden = false; alert(err.message); });
    });
    card.append(video, title, hook, reason, scores, downloads, edit);
    return card;
  }));
  const all = $("downloads");
  all.replaceChildren("Downloads: ");
  for (const name of ["manifest.json", "clips.otio", "clips.edl", "clips.fcpxml", "clips.xml", "transcript.json", "timeline.png"]) {
    all.append(link(fileUrl(id, name), name), " ");
  }
}

// The clip editor: trim the clip on a track of the video around it, fix caption words, pick
// the formats, and re-render (POST /v1/jobs/{id}/clips/{rank}/render). A new span takes the
// captions of the transcript for the speech it adds (words fixed before are kept), so caption
// words are fixed on the span as it is: moving the span locks them until the re-render.
const ASPECT_NAMES = ["9:16", "1:1", "16:9"];
const PAD_S = 30;  // how much of the video around the clip the track shows

function parseSrt(text) {
  const seconds = (t) => { const [h, m, s] = t.trim().replace(",", ".").split(":"); return h * 3600 + m * 60 + Number(s); };
  return text.replace(/\r/g, "").split(/\n\n+/).map((block) => block.trim().split("\n"))
    .filter((rows) => rows.some((row) => row.includes("-->")))
    .map((rows) => {
      const at = rows.findIndex((row) => row.includes("-->"));
      const [start, end] = rows[at].split("-->").map(seconds);
      return { start, end, text: rows.slice(at + 1).join(" ") };
    });
}

function srtTime(t) {
  const ms = Math.round(t * 1000);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(Math.floor(ms / 3600000))}:${pad(Math.floor(ms / 60000) % 60)}:${pad(Math.floor(ms / 1000) % 60)},${pad(ms % 1000, 3)}`;
}

function toSrt(lines) {
  return lines.map((line, n) => `${n + 1}\n${srtTime(line.start)} --> ${srtTime(line.end)}\n${line.text}\n`).join("\n");
}

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

async function openEditor(id, manifest, clip, card) {
  const response = await fetch(fileUrl(id, clip.captions, clip.revision), { credentials: "same-origin" });
  if (!response.ok) throw new Error(`the captions could not be read (${response.status})`);
  const lines = parseSrt(await response.text());
  const duration = manifest.source.duration_s;
  const lo = Math.max(0, clip.start_s - PAD_S), hi = Math.min(duration, clip.end_s + PAD_S);
  const limits = { min: manifest.selection.min_len_s, max: manifest.selection.max_len_s };

  const track = element("div", { className: "track" }, element("div", { className: "span" }));
  const slider = (value) => element("input", { type: "range", min: lo, max: hi, step: 0.05, value });
  const startSlider = slider(clip.start_s), endSlider = slider(clip.end_s);
  startSlider.className = "trim-start";
  endSlider.className = "trim-end";
  startSlider.setAttribute("aria-label", "clip start");
  endSlider.setAttribute("aria-label", "clip end");
  const number = (value, name) => element("input", { type: "number", min: 0, max: duration, step: 0.1, value: value.toFixed(1), className: name });
  const startBox = number(clip.start_s, "start"), endBox = number(clip.end_s, "end");
  const length = element("span", { className: "length muted" });
  const captionNote = element("p", { className: "muted caption-note" });
  const inputs = lines.map((line) => element("input", { type: "text", value: line.text, className: "caption-text" }));
  const list = element("ol", { className: "caption-lines" }, ...lines.map((line, n) =>
    element("li", {}, element("span", { className: "time muted" }, `${line.start.toFixed(1)}–${line.end.toFixed(1)} s`), inputs[n])));
  const current = Object.keys(clip.renditions || {}).length ? Object.keys(clip.renditions) : [manifest.selection.aspect];
  const boxes = ASPECT_NAMES.map((aspect) => element("input", { type: "checkbox", value: aspect, checked: current.includes(aspect), name: "edit-aspect" }));
  const formats = element("fieldset", { className: "inline formats" }, element("legend", {}, "Formats"),
    ...boxes.map((box) => element("label", {}, box, ` ${box.value}`)));
  const render = element("button", { type: "button", className: "rerender" }, "Re-render");
  const busy = element("progress", { hidden: true });
  const problem = element("p", { className: "error", role: "alert" });
  const panel = element("div", { className: "editor" },
    element("h4", {}, "Trim"), track, startSlider, endSlider,
    element("p", { className: "times" }, element("label", {}, "Start (s) ", startBox), " ",
            element("label", {}, "End (s) ", endBox), " ", length),
    element("h4", {}, "Captions"), captionNote, list, formats, render, busy, problem);

  const span = () => ({ start: Number(startSlider.value), end: Number(endSlider.value) });
  // A slider's value snaps to its step: only a handle that was really moved is sent.
  const startMoved = () => Math.abs(span().start - clip.start_s) > 0.05;
  const endMoved = () => Math.abs(span().end - clip.end_s) > 0.05;
  const moved = () => startMoved() || endMoved();
  function draw() {
    const { start, end } = span();
    const bar = track.firstChild;
    bar.style.left = `${(100 * (start - lo)) / (hi - lo)}%`;
    bar.style.width = `${(100 * Math.max(0, end - start)) / (hi - lo)}%`;
    startBox.value = start.toFixed(1);
    endBox.value = end.toFixed(1);
    const seconds = end - start;
    const fits = seconds >= limits.min && seconds <= limits.max;
    length.textContent = `${seconds.toFixed(1)} s` + (fits ? "" : ` (the run asked for ${limits.min}–${limits.max} s)`);
    const locked = moved();
    for (const input of inputs) input.disabled = locked;
    captionNote.textContent = locked
      ? "The span moved: the re-render captions the added speech from the transcript and keeps the words you fixed. Fix more words after it."
      : "Fix any word; the captions are burned in exactly as written.";
  }
  const follow = (changed, other, isStart) => () => {
    if (isStart && Number(changed.value) > Number(other.value) - 1) changed.value = Number(other.value) - 1;
    if (!isStart && Number(changed.value) < Number(other.value) + 1) changed.value = Number(other.value) + 1;
    draw();
  };
  startSlider.addEventListener("input", follow(startSlider, endSlider, true));
  endSlider.addEventListener("input", follow(endSlider, startSlider, false));
  for (const [box, slide] of [[startBox, startSlider], [endBox, endSlider]]) {
    box.addEventListener("change", () => { slide.value = box.value; slide.dispatchEvent(new Event("input")); });
    box.addEventListener("keydown", (e) => { if (e.key === "Enter") box.dispatchEvent(new Event("change")); });
  }
  draw();

  render.addEventListener("click", async () => {
    problem.textContent = "";
    const body = {};
    if (startMoved()) body.start_s = span().start;
    if (endMoved()) body.end_s = span().end;
    const texts = inputs.map((input) => input.value.trim());
    if (!moved() && texts.some((text, n) => text !== lines[n].text)) {
      body.captions_srt = toSrt(lines.map((line, n) => ({ ...line, text: texts[n] })).filter((line) => line.text));
    }
    const aspects = boxes.filter((box) => box.checked).map((box) => box.value);
    if (!aspects.length) { problem.textContent = "choose at least one format"; return; }
    // The clip's main format stays first when it is still asked for.
    aspects.sort((a, b) => (b === current[0]) - (a === current[0]));
    if (aspects.join(",") !== current.join(",")) body.aspect = aspects.join(",");
    if (!Object.keys(body).length) { problem.textContent = "nothing changed"; return; }
    render.disabled = true;
    busy.hidden = false;
    try {
      const job = await api(`/v1/jobs/${id}/clips/${clip.rank}/render`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      showJob(job);
    } catch (err) {
      problem.textContent = err.message;
    } finally {
      render.disabled = false;
      busy.hidden = true;
    }
  });
  card.append(panel);
}

start();

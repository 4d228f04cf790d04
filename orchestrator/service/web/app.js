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
  $("job-error").textContent = "";
  $("job").hidden = false;
  $("job-id").textContent = id;
  history.replaceState(null, "", `#job=${id}`);
  api(`/v1/jobs/${id}`).then(showJob).catch((err) => { $("job-error").textContent = err.message; });
  events = new EventSource(`/v1/jobs/${id}/events`);
  events.addEventListener("progress", (e) => showEvent(JSON.parse(e.data)));
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

function fileUrl(id, name) { return `/v1/jobs/${id}/files/${encodeURIComponent(name)}`; }

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  a.download = "";
  return a;
}

function showResults(id, manifest) {
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
    video.src = fileUrl(id, clip.file);
    const title = document.createElement("h3");
    title.textContent = `#${clip.rank} ${clip.title}`;
    const hook = document.createElement("p");
    hook.className = "hook";
    hook.textContent = clip.hook;
    const reason = document.createElement("p");
    reason.textContent = clip.reason;
    const scores = document.createElement("dl");
    const rows = { score: clip.score, ...clip.scores, "matches the topic": clip.prompt_match,
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
      downloads.append(link(fileUrl(id, file), `clip ${aspect} (mp4)`), " · ");
    }
    downloads.append(link(fileUrl(id, clip.captions), "captions (srt)"));
    card.append(video, title, hook, reason, scores, downloads);
    return card;
  }));
  const all = $("downloads");
  all.replaceChildren("Downloads: ");
  for (const name of ["manifest.json", "clips.otio", "clips.edl", "clips.fcpxml", "clips.xml", "transcript.json", "timeline.png"]) {
    all.append(link(fileUrl(id, name), name), " ");
  }
}

start();

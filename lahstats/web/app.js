// LahStats try-it page: plain JavaScript against the public API, nothing fetched from elsewhere.
// Every text from the server goes into the page as text (textContent), never as markup.

const TOKEN_KEY = "lahstats.token";
const GROUP_KEY = "lahstats.group";
const CHUNK_SECONDS = 30; // what the app sends: one self-contained recording every 30 s
const MAX_TRIES = 6; // 429 and 503 are retried after Retry-After, this many times in all
const POLL_MS = 2000; // when the event stream is not available
const TARGET_WORDS = [
  "walao", "cheebai", "lanjiao", "lah", "lor", "sia", "meh", "leh", "hor", "ah",
  "can", "paiseh", "shiok", "sian", "alamak", "aiyo", "bodoh", "kiasu", "kiasi", "bojio",
];
const PROCESSED = new Set(["ready_for_claiming", "completed"]);
const STATUS_TEXT = {
  recording: "Recording: chunks can still be sent",
  processing: "Processing",
  ready_for_claiming: "Ready: claim the speakers",
  completed: "Completed: every speaker is claimed",
  failed: "Processing failed",
};
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const state = {
  token: localStorage.getItem(TOKEN_KEY),
  me: null,
  groups: [],
  group: null, // GroupDetailOut of the chosen group
  session: null, // SessionOut on show
  speakers: [],
  events: null, // EventSource following the session on show
  poller: null,
  recorder: null, // the recording under way
  live: null, // EventSource of the running counts while a session records
  uploadFailedFor: null, // session id whose upload stopped at a refused chunk
};

// ---- small helpers --------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clock(seconds) {
  const whole = Math.max(0, Math.round(seconds || 0));
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, "0")}`;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function notice(text) {
  $("notice").textContent = text;
}

class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.message || `the server answered ${status}`);
    this.status = status;
    this.hint = body?.hint || "";
    this.retryAfter = retryAfter;
  }
}

function showError(error, context) {
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  const hint = error instanceof ApiError ? error.hint : "";
  const box = el(
    "div",
    { class: "error", dataset: { status: error?.status ?? "" } },
    el("div", {}, el("p", {}, el("strong", {}, context ? `${context}: ` : ""), message),
      hint ? el("p", { class: "hint" }, hint) : null),
    el("button", {
      type: "button", class: "secondary small", "aria-label": "Dismiss this message",
      onclick: () => box.remove(),
    }, "Dismiss"),
  );
  $("alerts").append(box);
  if ($("alerts").children.length > 3) $("alerts").firstElementChild.remove();
}

function clearErrors() {
  $("alerts").replaceChildren();
}

// Runs an action for a button or form: disables it meanwhile and shows what went wrong.
// A disabled button loses the keyboard's focus: it gets it back when it is enabled again.
async function act(control, context, action) {
  const focused = control !== null && document.activeElement === control;
  if (control) control.disabled = true;
  try {
    return await action();
  } catch (error) {
    showError(error, context);
    return undefined;
  } finally {
    if (control) {
      control.disabled = false;
      const lost = document.activeElement === null || document.activeElement === document.body;
      if (focused && lost && control.isConnected) control.focus();
    }
  }
}

// ---- the API --------------------------------------------------------------------------------

async function api(path, { method = "GET", json, form, raw = false, auth = true } = {}) {
  const headers = {};
  let body;
  if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // the browser writes the multipart boundary
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError(0, {
      message: "the LahStats server cannot be reached",
      hint: "Check that the server (make dev) is still running, then try again.",
    });
  }
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = { message: `the server answered ${response.status} ${response.statusText}` };
    }
    const retryAfter = Number.parseFloat(response.headers.get("Retry-After") || "");
    const error = new ApiError(response.status, payload, Number.isFinite(retryAfter) ? retryAfter : null);
    if (response.status === 401 && auth) signOut("Your sign-in is no longer valid: sign in again.");
    throw error;
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

// 429 (rate limit) and 503 (briefly unavailable) are retried after the Retry-After they give.
async function patiently(what, call) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      const retriable = error instanceof ApiError && (error.status === 429 || error.status === 503);
      if (!retriable || attempt >= MAX_TRIES) throw error;
      const wait = error.retryAfter ?? Math.min(30, 2 ** attempt);
      notice(`${what}: ${error.message}. Trying again in ${Math.ceil(wait)} s.`);
      await sleep(wait * 1000);
    }
  }
}

// ---- signing in -----------------------------------------------------------------------------

function setToken(token) {
  state.token = token;
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

function signOut(message) {
  stopFollowing();
  setToken(null);
  state.me = null;
  state.group = null;
  state.session = null;
  for (const id of ["groups", "new-session", "sessions", "session", "wrapped", "whoami"]) $(id).hidden = true;
  $("sign-in").hidden = false;
  if (message) {
    notice(message);
    $("sign-in-title").focus();
  }
}

async function signedIn() {
  state.me = await api("/users/me");
  $("me-name").textContent = state.me.display_name || state.me.email || "you";
  $("whoami").hidden = false;
  $("sign-in").hidden = true;
  $("groups").hidden = false;
  await loadGroups();
}

async function devSignIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await act(form.querySelector("button"), "Signing in", async () => {
    const email = $("dev-email").value.trim();
    const name = $("dev-name").value.trim();
    const made = await api("/dev/token", { method: "POST", json: { email, name: name || null }, auth: false });
    setToken(made.token);
    clearErrors();
    await signedIn();
    $("groups-title").focus(); // the sign-in form is gone: go on from the next step
    notice(`Signed in as ${email}.`);
  });
}

async function tokenSignIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await act(form.querySelector("button"), "Signing in", async () => {
    setToken($("token-input").value.trim());
    try {
      await signedIn();
    } catch (error) {
      setToken(null);
      throw error;
    }
    $("token-input").value = "";
    $("groups-title").focus();
    clearErrors();
    notice("Signed in.");
  });
}

// ---- groups ---------------------------------------------------------------------------------

async function loadGroups(chooseId) {
  const { groups } = await api("/groups");
  state.groups = groups;
  const select = $("group-select");
  select.replaceChildren(...groups.map((group) => el("option", { value: group.id }, group.name)));
  $("group-picker").hidden = groups.length === 0;
  $("no-groups").hidden = groups.length > 0;
  if (groups.length === 0) {
    state.group = null;
    for (const id of ["new-session", "sessions", "session", "wrapped"]) $(id).hidden = true;
    return;
  }
  const remembered = chooseId || localStorage.getItem(GROUP_KEY);
  const chosen = groups.find((group) => group.id === remembered) || groups[0];
  select.value = chosen.id;
  await chooseGroup(chosen.id);
}

async function chooseGroup(groupId) {
  localStorage.setItem(GROUP_KEY, groupId);
  state.group = await api(`/groups/${groupId}`);
  $("invite-code").textContent = state.group.invite_code;
  $("members").replaceChildren(
    ...state.group.members.map((member) =>
      el("li", {}, member.display_name, member.user_id === state.me.id ? " (you)" : "",
        member.role === "owner" ? " · owner" : ""),
    ),
  );
  $("new-session").hidden = false;
  $("sessions").hidden = false;
  $("wrapped").hidden = false;
  hideSession();
  await Promise.all([loadSessions(), loadWrapped(), loadLeaderboardWords()]);
}

function memberName(userId) {
  if (!userId) return null;
  if (state.me && userId === state.me.id) return "you";
  const member = state.group?.members.find((candidate) => candidate.user_id === userId);
  return member ? member.display_name : "a former member";
}

async function createGroup(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await act(form.querySelector("button"), "Creating the group", async () => {
    const group = await api("/groups", { method: "POST", json: { name: $("group-name").value.trim() } });
    $("group-name").value = "";
    await loadGroups(group.id);
    notice(`Group “${group.name}” created. Invite code: ${group.invite_code}.`);
  });
}

async function joinGroup(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await act(form.querySelector("button"), "Joining the group", async () => {
    const code = $("invite-input").value.trim();
    const group = await api("/groups/join", { method: "POST", json: { invite_code: code } });
    $("invite-input").value = "";
    await loadGroups(group.id);
    notice(`You joined “${group.name}”.`);
  });
}

async function copyInvite() {
  const code = state.group?.invite_code;
  if (!code) return;
  try {
    await navigator.clipboard.writeText(code);
    notice("Invite code copied.");
  } catch {
    notice(`Invite code: ${code} (copy it by hand: this browser did not allow copying).`);
  }
}

// ---- sessions list --------------------------------------------------------------------------

async function loadSessions() {
  // The group's 100 newest sessions.
  const { sessions: found } = await api(`/sessions?group_id=${state.group.id}&limit=100`);
  $("no-sessions").hidden = found.length > 0;
  $("session-list").replaceChildren(
    ...found.map((session) =>
      el("li", {},
        el("button", {
          type: "button",
          dataset: { sessionId: session.id },
          "aria-current": state.session?.id === session.id ? "true" : "false",
          onclick: () => act(null, "Opening the session", () => openSession(session.id)),
        },
        `${when(session.started_at)} · ${STATUS_TEXT[session.status] || session.status}`,
        session.duration_seconds ? ` · ${clock(session.duration_seconds)}` : ""),
      ),
    ),
  );
}

// ---- starting a session: recording or files -------------------------------------------------

async function startSession() {
  return patiently("Starting a session", () =>
    api("/sessions/start", { method: "POST", json: { group_id: state.group.id } }));
}

async function sendChunk(sessionId, number, blob, filename) {
  const form = new FormData();
  form.append("chunk_number", String(number));
  form.append("file", blob, filename);
  return patiently(`Sending chunk ${number + 1}`, () =>
    api(`/sessions/${sessionId}/upload`, { method: "POST", form }));
}

// Sends one chunk with a row in the list that says how it went; throws what the API refused.
async function sendListed(sessionId, number, blob, filename, label) {
  const row = el("li", { class: "state-sending" }, `${label}: sending…`);
  $("upload-list").append(row);
  try {
    const chunk = await sendChunk(sessionId, number, blob, filename);
    const length = chunk.duration_seconds ? `, ${clock(chunk.duration_seconds)}` : "";
    row.className = "state-stored";
    row.textContent = `${label}: stored (${chunk.content_type}${length})`;
    return chunk;
  } catch (error) {
    row.className = "state-error";
    row.textContent = `${label}: refused: ${error.message}`;
    throw error;
  }
}

// The live meter: the words heard so far while a session records (provisional: speakers may be
// relabelled when it ends). The server sends counts each time a chunk has been looked at, and a
// final status when recording stops; closed then, or EventSource would reconnect.
function watchLive(sessionId) {
  stopLive();
  const meter = $("live-meter");
  meter.hidden = false;
  meter.dataset.chunks = "0";
  meter.textContent = "Words heard so far: listening…";
  const live = new EventSource(
    `/sessions/${sessionId}/live?access_token=${encodeURIComponent(state.token)}`);
  state.live = live;
  live.addEventListener("counts", (event) => {
    const counts = JSON.parse(event.data);
    const words = Object.entries(counts.totals).map(([word, n]) => `${word} ${n}`).join(" · ");
    const chunks = `${counts.chunks} chunk${counts.chunks === 1 ? "" : "s"}`;
    meter.textContent = `Words heard so far (provisional, ${chunks}): ${words || "none yet"}`;
    meter.dataset.chunks = String(counts.chunks);
  });
  live.addEventListener("status", () => stopLive(live));
  live.addEventListener("error", () => {
    if (live.readyState === EventSource.CLOSED && state.live === live) state.live = null;
  });
}

function stopLive(which = state.live) {
  if (!which) return;
  which.close();
  if (state.live === which) state.live = null;
}

async function endSession(sessionId) {
  await patiently("Ending the session", () => api(`/sessions/${sessionId}/end`, { method: "POST" }));
  $("upload-stuck").hidden = true;
  state.uploadFailedFor = null;
  await openSession(sessionId);
  await loadSessions();
}

function byName(a, b) {
  return a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: "base" });
}

async function uploadFiles(event) {
  event.preventDefault();
  const files = [...$("files").files].sort(byName);
  if (files.length === 0) {
    showError(new Error("choose one or more audio files first"), "Uploading");
    return;
  }
  clearErrors();
  $("upload-list").replaceChildren();
  $("upload-stuck").hidden = true;
  await act($("upload-start"), "Uploading", async () => {
    const session = await startSession();
    watchLive(session.id);
    notice(`Session started: sending ${files.length} file(s).`);
    let stored = 0;
    for (const [number, file] of files.entries()) {
      try {
        await sendListed(session.id, number, file, file.name, `Chunk ${number + 1}: ${file.name}`);
        stored += 1;
      } catch (error) {
        state.uploadFailedFor = session.id;
        $("upload-stuck").hidden = stored === 0;
        await loadSessions();
        throw Object.assign(error, { message: `${file.name} was not accepted: ${error.message}` });
      }
    }
    $("files").value = "";
    await endSession(session.id);
    notice("All chunks stored; processing has started.");
  });
}

function recordingType() {
  const types = ["audio/webm;codecs=opus", "audio/webm", "audio/mp4", "audio/ogg;codecs=opus"];
  return types.find((type) => MediaRecorder.isTypeSupported(type)) || "";
}

async function startRecording() {
  clearErrors();
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === "undefined") {
    showError(new Error("this browser cannot record audio here (it needs https or localhost); upload files instead"), "Recording");
    return;
  }
  await act($("record-start"), "Recording", async () => {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      throw new Error(error.name === "NotAllowedError"
        ? "the microphone was not allowed; allow it in the browser's site settings and try again"
        : `no microphone could be opened (${error.name})`);
    }
    let session;
    try {
      session = await startSession();
    } catch (error) {
      stream.getTracks().forEach((track) => track.stop());
      throw error;
    }
    $("upload-list").replaceChildren();
    watchLive(session.id);
    const mimeType = recordingType();
    const take = {
      session, stream, mimeType, number: 0, stopping: false, current: null, timer: null,
      sending: Promise.resolve(), startedAt: Date.now(), ticker: null,
    };
    state.recorder = take;
    recordNextChunk(take);
    take.ticker = setInterval(() => showRecording(take), 1000);
    showRecording(take);
    $("record-stop").disabled = false;
    notice("Recording: a chunk is sent every 30 seconds.");
  });
  // act() re-enables the start button; while recording it must stay off, and the keyboard moves
  // on to the button that stops.
  $("record-start").disabled = state.recorder !== null;
  if (state.recorder) $("record-stop").focus();
}

// Each chunk is a recorder of its own, stopped after CHUNK_SECONDS: every chunk is then a whole
// file with its own header, which the server decodes on its own (timeslice pieces are not).
function recordNextChunk(take) {
  const recorder = new MediaRecorder(take.stream, take.mimeType ? { mimeType: take.mimeType } : {});
  const parts = [];
  const number = take.number;
  take.number += 1;
  take.current = recorder;
  recorder.addEventListener("dataavailable", (event) => {
    if (event.data.size > 0) parts.push(event.data);
  });
  recorder.addEventListener("stop", () => {
    if (!take.stopping) recordNextChunk(take);
    const type = recorder.mimeType || take.mimeType || "audio/webm";
    const blob = new Blob(parts, { type });
    const extension = type.includes("mp4") ? "m4a" : type.includes("ogg") ? "ogg" : "webm";
    take.sending = take.sending.then(() => sendRecorded(take, number, blob, `chunk-${number}.${extension}`));
  });
  recorder.start();
  take.timer = setTimeout(() => recorder.state !== "inactive" && recorder.stop(), CHUNK_SECONDS * 1000);
}

async function sendRecorded(take, number, blob, filename) {
  if (blob.size === 0) return;
  try {
    await sendListed(take.session.id, number, blob, filename, `Chunk ${number + 1}`);
  } catch (error) {
    showError(error, `Chunk ${number + 1} of the recording`);
  }
}

function showRecording(take) {
  const seconds = (Date.now() - take.startedAt) / 1000;
  $("record-info").textContent = take.stopping
    ? "Sending the last chunk…"
    : `Recording ${clock(seconds)} · chunk ${take.number} under way`;
}

async function stopRecording() {
  const take = state.recorder;
  if (!take) return;
  $("record-stop").disabled = true;
  take.stopping = true;
  clearTimeout(take.timer);
  clearInterval(take.ticker);
  showRecording(take);
  const stopped = new Promise((resolve) => take.current.addEventListener("stop", resolve, { once: true }));
  if (take.current.state !== "inactive") take.current.stop();
  await stopped;
  take.stream.getTracks().forEach((track) => track.stop());
  await take.sending;
  state.recorder = null;
  $("record-start").disabled = false;
  $("record-info").textContent = "";
  await act(null, "Ending the session", () => endSession(take.session.id));
}

// ---- one session: progress, speakers, transcript, exports -----------------------------------

function hideSession() {
  stopFollowing();
  state.session = null;
  $("session").hidden = true;
}

function stopFollowing() {
  if (state.events) state.events.close();
  state.events = null;
  if (state.poller) clearTimeout(state.poller);
  state.poller = null;
}

async function openSession(sessionId) {
  stopFollowing();
  const session = await api(`/sessions/${sessionId}`);
  state.session = session;
  $("session").dataset.sessionId = session.id;
  $("session").hidden = false;
  $("session-title").textContent = `Session of ${when(session.started_at)}`;
  for (const button of $("session-list").querySelectorAll("button")) {
    button.setAttribute("aria-current", String(button.dataset.sessionId === sessionId));
  }
  showStatus(session);
  if (session.status === "processing") follow(sessionId);
  if (PROCESSED.has(session.status)) await loadResults();
  $("session-title").focus({ preventScroll: true });
  $("session").scrollIntoView({ behavior: "smooth", block: "start" });
}

function showStatus(status) {
  const line = $("session-status");
  const duration = state.session?.duration_seconds ? ` · ${clock(state.session.duration_seconds)} of audio` : "";
  line.textContent = `${STATUS_TEXT[status.status] || status.status}${duration}`;
  line.className = `status-line status-${status.status}`;
  line.dataset.status = status.status;
  const processing = status.status === "processing";
  $("progress-box").hidden = !processing;
  if (processing) showProgress(status.stage, status.progress);
  const failed = $("session-failed");
  failed.hidden = status.status !== "failed";
  failed.textContent = status.status === "failed"
    ? `Processing failed: ${status.error_message || "no reason was recorded"}`
    : "";
  $("end-session").hidden = status.status !== "recording";
  $("delete-session").hidden = !state.session || state.session.started_by !== state.me?.id;
  $("results").hidden = !PROCESSED.has(status.status);
}

function showProgress(stage, progress) {
  const percent = Math.max(0, Math.min(100, progress || 0));
  $("session-progress").value = percent;
  $("progress-label").textContent = `Processing: ${stage || "queued"} · ${percent}%`;
}

// Server-sent events while processing; polling where the stream cannot be opened.
function follow(sessionId) {
  stopFollowing();
  const url = `/sessions/${sessionId}/events?access_token=${encodeURIComponent(state.token)}`;
  const events = new EventSource(url);
  state.events = events;
  events.addEventListener("progress", (event) => {
    const data = JSON.parse(event.data);
    showProgress(data.stage, data.progress);
  });
  events.addEventListener("status", async (event) => {
    stopFollowing();
    await act(null, "Loading the results", () => finished(sessionId, JSON.parse(event.data)));
  });
  events.addEventListener("error", () => {
    // The browser reconnects by itself (resuming after the last event) unless the server
    // refused the stream; then fall back to polling.
    if (events.readyState === EventSource.CLOSED && state.events === events) {
      state.events = null;
      poll(sessionId);
    }
  });
}

function poll(sessionId) {
  state.poller = setTimeout(async () => {
    if (state.session?.id !== sessionId) return;
    try {
      const status = await api(`/sessions/${sessionId}/status`);
      if (status.status === "processing") {
        showProgress(status.stage, status.progress);
        poll(sessionId);
      } else {
        await finished(sessionId, status);
      }
    } catch (error) {
      showError(error, "Following the session");
    }
  }, POLL_MS);
}

async function finished(sessionId, status) {
  if (state.session?.id !== sessionId) return;
  state.session = await api(`/sessions/${sessionId}`);
  showStatus(state.session);
  if (status.status === "failed") {
    notice("Processing failed; the reason is shown with the session.");
  } else if (PROCESSED.has(state.session.status)) {
    await loadResults();
    notice("Processing finished: claim the speakers below.");
  }
  await loadSessions();
}

async function loadResults() {
  const sessionId = state.session.id;
  const [{ speakers }, { segments }] = await Promise.all([
    api(`/sessions/${sessionId}/speakers`),
    api(`/sessions/${sessionId}/transcript`),
  ]);
  state.speakers = speakers;
  renderSpeakers();
  renderTranscript(segments);
}

function speakerName(speaker) {
  if (speaker.claim_type === "guest") return `${speaker.guest_name} (guest)`;
  const name = memberName(speaker.attributed_to_user_id);
  if (name === "you") return "You";
  return name || speaker.speaker_label;
}

function renderSpeakers() {
  const others = state.group.members.filter((member) => member.user_id !== state.me.id);
  $("speakers").replaceChildren(
    ...state.speakers.map((speaker, index) => renderSpeaker(speaker, index, others)),
  );
  if (state.speakers.length === 0) {
    $("speakers").append(el("p", { class: "hint" }, "No voices were found in this recording."));
  }
}

function renderSpeaker(speaker, index, others) {
  const titleId = `speaker-${index}-title`;
  const counts = Object.entries(speaker.word_counts).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const claimed = speaker.claim_type !== null;
  const card = el("article", {
    class: "speaker", "aria-labelledby": titleId,
    dataset: { speakerId: speaker.id, label: speaker.speaker_label, claimed: String(claimed) },
  });
  card.append(
    el("h4", { id: titleId, tabindex: "-1" }, `Speaker ${index + 1}`, claimed ? `: ${speakerName(speaker)}` : ""),
    speaker.sample_audio_url
      ? el("audio", { controls: true, preload: "none", src: speaker.sample_audio_url, "aria-label": `Voice sample of speaker ${index + 1}` })
      : el("p", { class: "hint" }, "No sample could be cut for this voice."),
    el("p", { class: "hint" }, `Spoke for ${clock(speaker.total_duration_seconds)} in ${speaker.segment_count} turn(s).`),
    counts.length
      ? el("ul", { class: "chips", "aria-label": `Words of speaker ${index + 1}` },
        ...counts.map(([word, n]) => el("li", { dataset: { word, count: n } }, `${word} × ${n}`)))
      : el("p", { class: "hint" }, "No target words."),
  );
  if (claimed) {
    card.append(
      el("p", { class: "claimed" }, `Claimed as ${speakerName(speaker)}.`),
      el("div", { class: "row" }, el("button", {
        type: "button", class: "secondary small",
        onclick: (event) => act(event.currentTarget, "Unclaiming", () => unclaim(speaker)),
      }, `Unclaim speaker ${index + 1}`)),
    );
    return card;
  }
  if (speaker.suggested_user_id) {
    const who = memberName(speaker.suggested_user_id);
    const sure = Math.round((speaker.suggestion_confidence || 0) * 100);
    const type = speaker.suggested_user_id === state.me.id ? "self" : "user";
    card.append(el("p", { class: "suggestion" },
      `Sounds like ${who} (${sure}% sure). `,
      el("button", {
        type: "button", class: "small",
        onclick: (event) => act(event.currentTarget, "Claiming", () =>
          claim(speaker, { claim_type: type, user_id: type === "user" ? speaker.suggested_user_id : null })),
      }, `Yes, it's ${who}`)));
  }
  card.append(el("div", { class: "row" }, el("button", {
    type: "button",
    onclick: (event) => act(event.currentTarget, "Claiming", () => claim(speaker, { claim_type: "self" })),
  }, `This is me (speaker ${index + 1})`)));
  if (others.length) {
    const selectId = `member-${index}`;
    card.append(el("form", {
      onsubmit: (event) => {
        event.preventDefault();
        const userId = event.currentTarget.elements.member.value;
        act(event.submitter, "Claiming", () => claim(speaker, { claim_type: "user", user_id: userId }));
      },
    },
    el("label", { for: selectId }, "A member"),
    el("select", { id: selectId, name: "member" },
      ...others.map((member) => el("option", { value: member.user_id }, member.display_name))),
    el("button", { type: "submit", class: "secondary small" }, "Claim for member")));
  }
  const guestId = `guest-${index}`;
  card.append(el("form", {
    onsubmit: (event) => {
      event.preventDefault();
      const name = event.currentTarget.elements.guest.value.trim();
      act(event.submitter, "Claiming", () => claim(speaker, { claim_type: "guest", guest_name: name }));
    },
  },
  el("label", { for: guestId }, "A guest"),
  el("input", { id: guestId, name: "guest", required: true, maxlength: 100, placeholder: "Their name", autocomplete: "off" }),
  el("button", { type: "submit", class: "secondary small" }, "Claim as guest")));
  return card;
}

async function claim(speaker, body) {
  await api(`/sessions/${state.session.id}/claim`, {
    method: "POST",
    json: { speaker_id: speaker.id, ...body },
  });
  await afterClaims(speaker);
}

async function unclaim(speaker) {
  await api(`/sessions/${state.session.id}/claim/${speaker.id}`, { method: "DELETE" });
  await afterClaims(speaker);
}

async function afterClaims(speaker) {
  state.session = await api(`/sessions/${state.session.id}`);
  showStatus(state.session);
  await Promise.all([loadResults(), loadWrapped(), loadSessions()]);
  // The cards were drawn again: the keyboard goes on from the same speaker's new card.
  document.querySelector(`article[data-speaker-id="${speaker.id}"] h4`)?.focus();
  notice(state.session.status === "completed"
    ? "Every speaker is claimed: the session is complete."
    : "Claim saved.");
}

function renderTranscript(segments) {
  const names = new Map(state.speakers.map((speaker) => [speaker.id, speakerName(speaker)]));
  $("transcript").replaceChildren(
    ...segments.map((line) =>
      el("li", {},
        el("span", { class: "when" }, clock(line.start_seconds)),
        el("span", { class: "who" }, `${names.get(line.speaker_id) || line.speaker_label || "Unknown"}:`),
        line.text)),
  );
  if (segments.length === 0) $("transcript").append(el("li", { class: "hint" }, "Nothing was transcribed."));
}

async function download(format, button) {
  await act(button, "Exporting", async () => {
    const response = await api(`/sessions/${state.session.id}/export?format=${format}`, { raw: true });
    const disposition = response.headers.get("Content-Disposition") || "";
    const filename = /filename="([^"]+)"/.exec(disposition)?.[1] || `lahstats-session.${format}`;
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    notice(`Downloaded ${filename}.`);
  });
}

async function deleteSession(button) {
  if (!confirm("Delete this session, its results and its audio? This cannot be undone.")) return;
  await act(button, "Deleting the session", async () => {
    await api(`/sessions/${state.session.id}`, { method: "DELETE" });
    hideSession();
    await Promise.all([loadSessions(), loadWrapped()]);
    notice("Session deleted.");
  });
}

// ---- Wrapped and the leaderboard ------------------------------------------------------------

function fillYears() {
  const now = new Date().getFullYear();
  $("wrapped-year").replaceChildren(
    ...[now, now - 1, now - 2].map((year) => el("option", { value: year }, String(year))),
  );
}

async function loadWrapped() {
  const year = $("wrapped-year").value;
  const wrapped = await api(`/users/me/wrapped?year=${year}`);
  $("wrapped-total").textContent = String(wrapped.total_words);
  $("wrapped-favourite").textContent = wrapped.favorite_word || "none yet";
  $("wrapped-sessions").textContent = String(wrapped.sessions);
  $("wrapped-minutes").textContent = String(Math.round(wrapped.minutes_recorded * 10) / 10);
  const top = wrapped.top_words.filter((entry) => entry.count > 0);
  const most = Math.max(1, ...top.map((entry) => entry.count));
  $("top-words").replaceChildren(
    ...top.map((entry) => {
      const fill = el("span", { class: "fill" });
      fill.style.width = `${(100 * entry.count) / most}%`;
      return el("li", { dataset: { word: entry.word, count: entry.count } },
        el("span", { class: "word" }, entry.word),
        el("span", { class: "track", "aria-hidden": "true" }, fill),
        el("span", { class: "count" }, String(entry.count)));
    }),
  );
  $("top-words-empty").hidden = top.length > 0;
  const monthly = MONTHS.map((_, index) => wrapped.by_month[`${year}-${String(index + 1).padStart(2, "0")}`] || 0);
  const busiest = Math.max(1, ...monthly);
  $("by-month").replaceChildren(
    ...monthly.map((count, index) => {
      const fill = el("span", { class: "fill", "aria-hidden": "true" });
      fill.style.height = `${(100 * count) / busiest}%`;
      return el("li", { dataset: { month: index + 1, count }, "aria-label": `${MONTHS[index]}: ${count}` },
        el("span", { class: "count" }, count ? String(count) : ""), fill,
        el("span", { class: "month" }, MONTHS[index]));
    }),
  );
  await loadLeaderboard();
}

async function loadLeaderboardWords() {
  let words = TARGET_WORDS;
  try {
    const listed = await api(`/groups/${state.group.id}/words`);
    words = listed.words.map((entry) => entry.word);
  } catch (error) {
    showError(error, "Loading the group's words");
  }
  const select = $("leaderboard-word");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "All target words"),
    ...words.map((word) => el("option", { value: word }, word)));
  select.value = words.includes(chosen) ? chosen : "";
}

async function loadLeaderboard() {
  if (!state.group) return;
  const year = $("wrapped-year").value;
  const word = $("leaderboard-word").value;
  const query = `year=${year}${word ? `&word=${encodeURIComponent(word)}` : ""}`;
  const board = await api(`/groups/${state.group.id}/leaderboard?${query}`);
  $("leaderboard-title").textContent = `Leaderboard: ${state.group.name}${word ? ` · ${word}` : ""}`;
  $("leaderboard").querySelector("tbody").replaceChildren(
    ...board.entries.map((entry) =>
      el("tr", { class: entry.user_id === state.me.id ? "me" : null, dataset: { userId: entry.user_id } },
        el("td", {}, String(entry.rank)),
        el("td", {}, entry.display_name, entry.user_id === state.me.id ? " (you)" : ""),
        el("td", {}, String(entry.count)),
        el("td", {}, entry.favorite_word || "–"))),
  );
  $("leaderboard-empty").hidden = board.entries.length > 0;
  $("leaderboard").hidden = board.entries.length === 0;
}

// ---- start-up -------------------------------------------------------------------------------

async function start() {
  $("dev-sign-in").addEventListener("submit", devSignIn);
  $("token-sign-in").addEventListener("submit", tokenSignIn);
  $("sign-out").addEventListener("click", () => signOut("Signed out."));
  $("create-group").addEventListener("submit", createGroup);
  $("join-group").addEventListener("submit", joinGroup);
  $("group-select").addEventListener("change", (event) =>
    act(null, "Opening the group", () => chooseGroup(event.target.value)));
  $("copy-invite").addEventListener("click", copyInvite);
  $("upload-form").addEventListener("submit", uploadFiles);
  $("record-start").addEventListener("click", startRecording);
  $("record-stop").addEventListener("click", stopRecording);
  $("end-anyway").addEventListener("click", (event) =>
    act(event.currentTarget, "Ending the session", () => endSession(state.uploadFailedFor)));
  $("end-session").addEventListener("click", (event) =>
    act(event.currentTarget, "Ending the session", () => endSession(state.session.id)));
  $("delete-session").addEventListener("click", (event) => deleteSession(event.currentTarget));
  for (const button of $("exports").querySelectorAll("button")) {
    button.addEventListener("click", () => download(button.dataset.format, button));
  }
  $("wrapped-year").addEventListener("change", () => act(null, "Loading Wrapped", loadWrapped));
  $("leaderboard-word").addEventListener("change", () => act(null, "Loading the leaderboard", loadLeaderboard));
  fillYears();
  // Leaving mid-recording or mid-upload loses what was not sent yet: the browser asks first.
  window.addEventListener("beforeunload", (event) => {
    if (state.recorder || $("upload-start").disabled) event.preventDefault();
  });

  let environment = null;
  try {
    environment = (await fetch("/health").then((response) => response.json())).environment;
  } catch {
    // no server, or not JSON: no development sign-in; pasting a token still works
  }
  $("dev-sign-in").hidden = !["development", "test"].includes(environment);
  if (state.token) {
    await act(null, "Signing in", signedIn);
    if (!state.me) $("sign-in").hidden = false; // a refused token was dropped; a down server keeps it
  } else {
    signOut();
  }
  document.body.dataset.ready = "true";
}

start();

// @module viewer/static/app — the viewer's front end: plain ES module, no build step, no network beyond this server.
// Charts (SVG) and trajectories (HTML) come rendered from the server; this file fetches, filters, pages and polls.
/* global document, Node, URLSearchParams, fetch, location, setTimeout */

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") n.className = v;
    else if (k === "html") n.innerHTML = v;
    else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) n.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) n.append(c instanceof Node ? c : String(c));
  return n;
};
const fmt = (x, d = 3) => (x === null || x === undefined ? "–" : typeof x === "number" ? (Number.isInteger(x) ? String(x) : x.toFixed(d)) : String(x));
const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1));

async function api(path, params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  const res = await fetch(`/api/${path}${q.size ? "?" + q : ""}`);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

const state = {
  tab: "training",
  runs: [],
  overlay: null, // Set of train run ids drawn; null = all
  traj: { run: null, step: "latest", filters: {}, page: 0, pageSize: 10 },
  evalSel: null, // { run, wrong, text, page }
  version: null,
};

// ---- tabs
for (const b of document.querySelectorAll("nav button")) {
  b.addEventListener("click", () => {
    state.tab = b.dataset.tab;
    for (const x of document.querySelectorAll("nav button")) x.classList.toggle("active", x === b);
    for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== `tab-${state.tab}`;
    refresh(true);
  });
}

const trainRuns = () => state.runs.filter((r) => r.kind === "train");

// ---- training curves
function renderRunPicker() {
  const box = $("#train-runs");
  box.replaceChildren();
  const runs = trainRuns();
  if (!runs.length) {
    box.append(el("p", { class: "muted" }, "No training run found (yet): waiting for metrics.jsonl."));
    return;
  }
  box.append("Runs: ");
  for (const r of runs) {
    const cb = el("input", { type: "checkbox", value: r.id, checked: !state.overlay || state.overlay.has(r.id) });
    cb.addEventListener("change", () => {
      state.overlay = new Set([...box.querySelectorAll("input:checked")].map((x) => x.value));
      loadCharts();
    });
    box.append(el("label", {}, cb, ` ${r.id} (${r.steps} steps)`));
  }
}

function renderDemoReports(reports) {
  const box = $("#demo-report");
  box.replaceChildren();
  for (const { root, report } of reports) {
    box.append(el("details", { class: "detail" }, el("summary", {}, `report.json of ${root}`), el("pre", {}, JSON.stringify(report, null, 2))));
  }
}

async function loadCharts() {
  const ids = trainRuns().map((r) => r.id).filter((id) => !state.overlay || state.overlay.has(id));
  const box = $("#charts");
  if (!ids.length) {
    box.replaceChildren();
    return;
  }
  const { charts } = await api("charts", { runs: ids.join(",") });
  box.replaceChildren(
    ...charts.map((c) => el("div", { class: "chart", "data-key": c.key, "data-points": JSON.stringify(c.points), html: c.svg })),
  );
}

// ---- trajectories
async function loadStepOptions() {
  const f = $("#traj-filters");
  const runSel = f.elements.run;
  const runs = trainRuns();
  if (!state.traj.run || !runs.some((r) => r.id === state.traj.run)) state.traj.run = runs[0]?.id ?? null;
  runSel.replaceChildren(...runs.map((r) => el("option", { value: r.id, selected: r.id === state.traj.run }, r.id)));
  const stepSel = f.elements.step;
  if (!state.traj.run) {
    stepSel.replaceChildren();
    return [];
  }
  const { steps } = await api("steps", { run: state.traj.run });
  stepSel.replaceChildren(
    el("option", { value: "latest", selected: state.traj.step === "latest" }, "latest"),
    el("option", { value: "all", selected: state.traj.step === "all" }, "all steps"),
    ...steps.map((s) => el("option", { value: s.step, selected: String(state.traj.step) === String(s.step) }, `step ${s.step} (${s.count})`)),
  );
  return steps;
}

function rewardClass(r) {
  if (r === null) return "mid";
  return r >= 0.8 ? "good" : r > 0 ? "mid" : "bad"; // ReSearch: 0 bad format, 0.1 format ok but wrong, F1 otherwise
}

function rolloutCard(r, match) {
  return el(
    "div",
    { class: `rollout${match ? "" : " dim"}`, "data-id": r.id },
    el(
      "div",
      { class: "meta" },
      el("span", { class: `reward ${rewardClass(r.reward)}`, title: r.reason ?? "" }, `reward ${fmt(r.reward)}`),
      el("span", {}, `adv ${fmt(r.advantage, 2)}`),
      el("span", {}, `${r.searches} search${r.searches === 1 ? "" : "es"}`),
      el("span", {}, r.finishReason),
      r.tokens !== null ? el("span", { class: "muted" }, `${r.tokens} tok (${r.trainedTokens} trained)`) : null,
      ...Object.entries(r.interventions ?? {}).map(([k, n]) => el("span", { class: "muted intervention", title: "written by a training scaffold" }, `${k} ×${n}`)),
      el("span", {}, "answer: ", el("b", {}, r.answer ?? "–")),
    ),
    el("div", { html: r.html }),
  );
}

async function loadGroups() {
  const t = state.traj;
  const box = $("#groups");
  const pager = $("#traj-pager");
  if (!t.run) {
    box.replaceChildren(el("p", { class: "muted" }, "No training run with trajectories."));
    pager.replaceChildren();
    return;
  }
  let step = t.step;
  if (step === "latest") {
    const { steps } = await api("steps", { run: t.run });
    step = steps.length ? steps[steps.length - 1].step : "all";
  }
  const res = await api("groups", { run: t.run, step, ...t.filters, page: t.page, pageSize: t.pageSize });
  const q = t.filters.question;
  const pages = Math.max(1, Math.ceil(res.matchedGroups / res.pageSize));
  pager.replaceChildren(
    el("button", { disabled: t.page === 0, onclick: () => ((t.page -= 1), loadGroups()) }, "‹ prev"),
    el("span", {}, `page ${t.page + 1} of ${pages} · ${res.matchedGroups} groups · ${res.matchedRollouts} of ${res.totalRollouts} rollouts match${q ? ` · question "${q}"` : ""}`),
    el("button", { disabled: t.page + 1 >= pages, onclick: () => ((t.page += 1), loadGroups()) }, "next ›"),
  );
  box.replaceChildren(
    ...res.groups.map((g) =>
      el(
        "div",
        { class: "group", "data-step": g.step },
        el(
          "h3",
          {},
          `step ${g.step} · ${g.question} `,
          el("span", { class: "gold" }, `gold: ${g.goldenAnswers.join(" | ")} `),
          el("a", { href: "#", class: "question-link", onclick: (e) => (e.preventDefault(), showQuestion(g.question)) }, "this question at every step"),
        ),
        el("div", { class: "rollouts" }, ...g.rollouts.map((r, i) => rolloutCard(r, g.matches[i]))),
      ),
    ),
  );
}

/** Per question: the groups of one question (exact match) at every step. */
function showQuestion(question) {
  const f = $("#traj-filters").elements;
  for (const k of ["minReward", "maxReward", "minSearches", "maxSearches"]) f[k].value = "";
  f.text.value = "";
  state.traj.step = "all";
  f.step.value = "all";
  state.traj.filters = { question };
  state.traj.page = 0;
  loadGroups().catch(showError);
}

$("#traj-filters").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target.elements;
  state.traj.run = f.run.value;
  state.traj.step = f.step.value;
  state.traj.filters = Object.fromEntries(["minReward", "maxReward", "minSearches", "maxSearches", "text"].map((k) => [k, f[k].value]));
  state.traj.page = 0;
  loadGroups().catch(showError);
});
$("#traj-filters").elements.run.addEventListener("change", (e) => {
  state.traj.run = e.target.value;
  state.traj.step = "latest";
  state.traj.page = 0;
  loadStepOptions().then(loadGroups).catch(showError);
});
$("#traj-filters").elements.step.addEventListener("change", (e) => {
  state.traj.step = e.target.value;
  state.traj.page = 0;
  loadGroups().catch(showError);
});

// ---- evaluation
async function loadEvalTable() {
  const t = await api("eval/table");
  const box = $("#eval-table");
  if (!t.rows.length) {
    box.replaceChildren(el("p", { class: "muted" }, "No evaluation run found (yet)."));
    return;
  }
  const head = el("tr", {}, el("th", {}, "Model"), el("th", {}, "Method"), ...t.datasets.map((d) => el("th", { title: "EM / F1 / LJ %, searches per question" }, d)));
  const rows = t.rows.map((r) =>
    el(
      "tr",
      {},
      el("td", {}, r.label || "–"),
      el("td", {}, r.methodLabel),
      ...r.cells.map((c) =>
        c
          ? el(
              "td",
              { class: `cell${state.evalSel?.run === c.run ? " selected" : ""}`, "data-run": c.run, title: `${c.run}: ${c.n}/${c.total} items${c.partial ? " (running)" : ""}`, onclick: () => selectEvalRun(c.run) },
              `EM ${pct(c.em)} · F1 ${pct(c.f1)}${c.lj !== undefined ? ` · LJ ${pct(c.lj)}` : ""}${c.searches !== undefined ? ` · ${fmt(c.searches, 2)} s/q` : ""}${c.partial ? " …" : ""}`,
            )
          : el("td", { class: "muted" }, "–"),
      ),
    ),
  );
  box.replaceChildren(el("table", { class: "eval" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

function selectEvalRun(run) {
  state.evalSel = { run, wrong: false, text: "", page: 0 };
  $("#eval-item").replaceChildren();
  loadEvalTable().then(loadEvalItems).catch(showError);
}

async function loadEvalItems() {
  const s = state.evalSel;
  const box = $("#eval-items");
  if (!s) return box.replaceChildren();
  const res = await api("eval/items", { run: s.run, wrong: s.wrong ? "1" : undefined, text: s.text, page: s.page, pageSize: 50 });
  const wrong = el("input", { type: "checkbox", name: "wrong", checked: s.wrong });
  wrong.addEventListener("change", () => ((s.wrong = wrong.checked), (s.page = 0), loadEvalItems().catch(showError)));
  const text = el("input", { type: "search", name: "text", value: s.text, placeholder: "filter text" });
  text.addEventListener("change", () => ((s.text = text.value), (s.page = 0), loadEvalItems().catch(showError)));
  const pages = Math.max(1, Math.ceil(res.matched / res.pageSize));
  box.replaceChildren(
    el("h3", {}, `${res.label ? res.label + " · " : ""}${res.method} on ${res.dataset}`),
    el(
      "div",
      { class: "pager" },
      el("label", {}, wrong, " wrong answers only"),
      text,
      el("button", { disabled: s.page === 0, onclick: () => ((s.page -= 1), loadEvalItems()) }, "‹ prev"),
      el("span", {}, `page ${s.page + 1} of ${pages} · ${res.matched} of ${res.total} items`),
      el("button", { disabled: s.page + 1 >= pages, onclick: () => ((s.page += 1), loadEvalItems()) }, "next ›"),
    ),
    el(
      "table",
      { class: "items" },
      el("thead", {}, el("tr", {}, ...["id", "question", "prediction", "gold", "EM", "F1", "judge", "searches"].map((h) => el("th", {}, h)))),
      el(
        "tbody",
        {},
        ...res.items.map((it) =>
          el(
            "tr",
            { class: `item ${it.wrong ? "wrong" : "right"}`, "data-id": it.id, onclick: () => loadEvalItem(s.run, it.id) },
            el("td", {}, it.id),
            el("td", {}, it.question),
            el("td", {}, it.pred),
            el("td", {}, it.goldenAnswers.join(" | ")),
            el("td", {}, fmt(it.scores.em)),
            el("td", {}, fmt(it.scores.f1, 2)),
            el("td", {}, it.judge ?? "–"),
            el("td", {}, fmt(it.searches)),
          ),
        ),
      ),
    ),
  );
}

async function loadEvalItem(run, id) {
  const it = await api("eval/item", { run, id });
  const parts = [
    el("h3", {}, `${it.id}: ${it.question}`),
    el("p", {}, "prediction: ", el("b", { class: it.wrong ? "wrong" : "right" }, it.pred || "(none)"), ` · gold: ${it.goldenAnswers.join(" | ")} · EM ${fmt(it.scores.em)} F1 ${fmt(it.scores.f1, 2)}`),
  ];
  if (it.judgeDetail) parts.push(el("p", { class: "muted" }, `judge: ${it.judgeDetail.verdict}`));
  if (it.trajectory) parts.push(el("div", { class: "meta" }, `${it.trajectory.searches} searches · ${it.trajectory.finishReason}`), el("div", { class: "trajectory", html: it.trajectory.html }));
  for (const r of it.retrievals) parts.push(el("details", {}, el("summary", {}, `retrieval: ${r.query}`), el("pre", {}, r.hits.map((h) => `[${h.id}] ${h.contents}`).join("\n\n"))));
  for (const g of it.generations) parts.push(el("details", {}, el("summary", {}, `generation (${g.finishReason})`), el("pre", {}, g.prompt + "\n⟶ " + g.output)));
  $("#eval-item").replaceChildren(el("div", { class: "detail" }, ...parts));
}

// ---- refresh and live polling
function showError(e) {
  const live = $("#live");
  live.textContent = `error: ${e.message}`;
  live.classList.add("error");
}

async function refresh(full) {
  const { runs, reports } = await api("runs");
  state.runs = runs;
  if (state.tab === "training") {
    renderRunPicker();
    renderDemoReports(reports);
    await loadCharts();
  } else if (state.tab === "trajectories") {
    await loadStepOptions();
    if (full || state.traj.step === "latest" || state.traj.step === "all") await loadGroups();
  } else {
    await loadEvalTable();
    if (state.evalSel) await loadEvalItems();
  }
}

const POLL_MS = Number(new URLSearchParams(location.search).get("poll")) || 2000;
async function poll() {
  try {
    const { version } = await api("version");
    if (version !== state.version) {
      state.version = version;
      await refresh(false);
      const live = $("#live");
      live.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
      live.classList.remove("error");
      live.classList.add("pulse");
      setTimeout(() => live.classList.remove("pulse"), 600);
    }
  } catch (e) {
    showError(e);
  }
  setTimeout(poll, POLL_MS);
}

document.body.dataset.ready = "0";
refresh(true)
  .then(() => api("version"))
  .then(({ version }) => {
    state.version = version;
    document.body.dataset.ready = "1";
    setTimeout(poll, POLL_MS);
  })
  .catch(showError);

// The trm playground: plain JavaScript against the server's own API
// (GET /v1/models, POST /v1/models/{name}/predict with "trace": true).
"use strict";

const $ = (id) => document.getElementById(id);
let models = [];
let result = null; // {input, output, model}

async function loadModels() {
  const resp = await fetch("/v1/models");
  const body = await resp.json();
  models = body.models;
  const sel = $("model");
  sel.innerHTML = "";
  for (const m of models) {
    const opt = document.createElement("option");
    opt.value = m.name;
    opt.textContent = m.name;
    sel.appendChild(opt);
  }
  const wanted = new URLSearchParams(location.search).get("model");
  if (wanted && models.some((m) => m.name === wanted)) sel.value = wanted;
  modelChanged();
}

function current() {
  return models.find((m) => m.name === $("model").value);
}

function modelChanged() {
  const m = current();
  if (!m) return;
  $("task").textContent = `task ${m.task}, up to ${m.max_steps} supervision steps, ${m.parameters.toLocaleString()} parameters`;
  $("input").value = m.example || "";
  $("result").hidden = true;
  showError("");
}

function showError(msg) {
  $("error").textContent = msg;
  $("error").hidden = msg === "";
}

async function run() {
  const m = current();
  showError("");
  $("status").textContent = "thinking…";
  $("run").disabled = true;
  try {
    const input = $("input").value.trim();
    const resp = await fetch(`/v1/models/${encodeURIComponent(m.name)}/predict`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ inputs: [input], halt: "full", trace: true }),
    });
    const body = await resp.json();
    if (!resp.ok) {
      showError(body.error ? body.error.message : `HTTP ${resp.status}`);
      $("result").hidden = true;
      return;
    }
    result = { input, output: body.outputs[0], model: m };
    const n = result.output.trace.length;
    $("step").max = n;
    $("steps").textContent = n;
    const halt = result.output.trace.findIndex((s) => s.q_halt > 0);
    $("haltinfo").textContent = halt >= 0
      ? `q_halt > 0 first at step ${halt + 1}: early halting stops there.`
      : "q_halt never rises above 0: early halting would run every step.";
    drawCurve(halt + 1);
    $("final").textContent = result.output.answer;
    $("finalsteps").textContent = result.output.steps;
    $("finalvalid").textContent = validText(result.output.valid);
    $("result").hidden = false;
    show(n);
  } catch (e) {
    showError(String(e));
  } finally {
    $("status").textContent = "";
    $("run").disabled = false;
  }
}

function validText(v) {
  return v === true ? "valid" : v === false ? "not valid" : "validity unknown";
}

function drawCurve(haltStep) {
  const curve = $("curve");
  curve.innerHTML = "";
  result.output.trace.forEach((s, i) => {
    const bar = document.createElement("div");
    bar.style.height = `${Math.max(2, s.confidence * 100)}%`;
    bar.title = `step ${i + 1}: confidence ${s.confidence.toFixed(3)}`;
    if (i + 1 === haltStep) bar.classList.add("halt");
    bar.addEventListener("click", () => show(i + 1));
    curve.appendChild(bar);
  });
}

// grid returns the shape of a grid task's answer, or null.
function grid(m) {
  if (m.grid) return m.grid;
  return null;
}

function show(step) {
  const trace = result.output.trace;
  step = Math.min(Math.max(step, 1), trace.length);
  $("step").value = step;
  $("stepno").textContent = step;
  const s = trace[step - 1];
  const given = result.input.replace(/\s+/g, "");
  // Step 1 is compared with the input (the cells the model filled in),
  // where the input is a grid of the answer's size.
  const prev = step > 1 ? trace[step - 2].answer : (given.length === s.answer.length ? given : null);
  $("qhalt").textContent = s.q_halt.toFixed(3);
  $("confidence").textContent = s.confidence.toFixed(4);
  let changed = 0;
  if (prev !== null) for (let i = 0; i < s.answer.length; i++) if (s.answer[i] !== prev[i]) changed++;
  $("changed").textContent = prev === null ? "(first step)" : step === 1 ? `${changed} (from the input)` : String(changed);
  $("valid").textContent = step === trace.length ? validText(result.output.valid) : "—";
  [...$("curve").children].forEach((b, i) => b.classList.toggle("current", i + 1 === step));
  const g = grid(result.model);
  const box = $("answer");
  box.innerHTML = "";
  if (!g || s.answer.length !== g.rows * g.cols) {
    for (let i = 0; i < s.answer.length; i++) {
      const span = document.createElement("span");
      span.textContent = s.answer[i];
      if (prev !== null && prev[i] !== s.answer[i]) span.classList.add("changed");
      box.appendChild(span);
    }
    return;
  }
  const table = document.createElement("table");
  table.className = "grid";
  for (let r = 0; r < g.rows; r++) {
    const tr = document.createElement("tr");
    for (let c = 0; c < g.cols; c++) {
      const i = r * g.cols + c;
      const td = document.createElement("td");
      const ch = s.answer[i];
      td.textContent = ch;
      if (g.box_rows && (c + 1) % g.box_cols === 0 && c + 1 < g.cols) td.classList.add("box-right");
      if (g.box_rows && (r + 1) % g.box_rows === 0 && r + 1 < g.rows) td.classList.add("box-bottom");
      if (g.kind === "sudoku" && given.length === s.answer.length && given[i] !== "." && given[i] !== "0") td.classList.add("given");
      if (ch === "#") td.classList.add("wall");
      if (ch === "o") td.classList.add("path");
      if (prev !== null && prev[i] !== ch) td.classList.add("changed");
      tr.appendChild(td);
    }
    table.appendChild(tr);
  }
  box.appendChild(table);
}

$("model").addEventListener("change", modelChanged);
$("run").addEventListener("click", run);
$("example").addEventListener("click", () => { $("input").value = current().example || ""; });
$("step").addEventListener("input", (e) => show(Number(e.target.value)));
$("prev").addEventListener("click", () => show(Number($("step").value) - 1));
$("next").addEventListener("click", () => show(Number($("step").value) + 1));
document.addEventListener("keydown", (e) => {
  if (!result || e.target === $("input")) return;
  if (e.key === "ArrowLeft") show(Number($("step").value) - 1);
  if (e.key === "ArrowRight") show(Number($("step").value) + 1);
});
loadModels().catch((e) => showError(`loading the models: ${e}`));

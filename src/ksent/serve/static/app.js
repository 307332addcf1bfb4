// ksent web page: one review -> /v1/predict + /v1/explain (label, coloured tokens, gate chart);
// several lines -> /v1/predict (a table). No library, nothing loaded from elsewhere.
// Text from the user or the server is only ever set as textContent, never parsed as HTML.
"use strict";

const SENTIMENT = { positive: "긍정", negative: "부정" };
const STATUS = {
  input: "모델에 입력됨",
  oov: "미등록어: <OOV>로 입력됨",
  unknown: "어휘에 없음: 제외됨",
  stopword: "불용어: 제외됨",
  truncated: "최대 길이 초과: 잘림",
};
const DIRECTION = { forward: "정방향", backward: "역방향" };
const GATES = [
  ["input_gate_mean", "입력 게이트", "#3457d5"],
  ["forget_gate_mean", "망각 게이트", "#e8890c"],
  ["output_gate_mean", "출력 게이트", "#8e44ad"],
];
const SVG_NS = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
const pct = (p) => `${(100 * p).toFixed(1)}%`;
const signed = (x, digits = 3) => (x > 0 ? "+" : x < 0 ? "−" : "") + Math.abs(x).toFixed(digits);
// evidence is a difference of probabilities: shown in percentage points (%p)
const points = (x) => `${signed(100 * x, Math.abs(100 * x) < 1 ? 2 : 1)}%p`;
let maxChars = 5000;
let current = null; // the explanation on screen, for the direction tabs and redrawing
// The server's API key, when it asks for one (401): kept for this tab only, sent as a bearer token.
const KEY_ITEM = "ksent-api-key";
let currentDirection = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(path, body) {
  let res;
  const headers = {};
  const key = sessionStorage.getItem(KEY_ITEM);
  if (key && /^[\x21-\x7e]+$/.test(key)) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    res = await fetch(path, body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) });
  } catch (e) {
    throw Object.assign(new Error("서버에 연결할 수 없습니다. 서버가 실행 중인지 확인하세요."), { status: 0 });
  }
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON */ }
  if (res.status === 401) askForKey();
  if (!res.ok) {
    const message = data && data.message ? data.message : `HTTP ${res.status}`;
    throw Object.assign(new Error(message), { status: res.status, code: data && data.error });
  }
  return data;
}

// --- errors ---------------------------------------------------------------------------------------

// A Korean line for the errors a person can cause from this page; the API's own message below it.
function hint(err) {
  const line = /texts\[(\d+)\]/.exec(err.message);
  const where = line ? `${Number(line[1]) + 1}번째 줄: ` : "";
  switch (err.code) {
    case "text_too_long": return `${where}리뷰 하나는 ${maxChars.toLocaleString("ko-KR")}자까지 분석할 수 있습니다.`;
    case "too_many_texts": return "한 번에 256줄까지 분석할 수 있습니다. 나누어 분석하세요.";
    case "body_too_large": return "입력이 너무 큽니다. 나누어 분석하세요.";
    case "invalid_unicode": return `${where}올바르지 않은 문자가 들어 있습니다.`;
    case "missing_api_key": return "이 서버는 API 키가 필요합니다. 위에 키를 입력하세요.";
    case "wrong_api_key": return "API 키가 맞지 않습니다. 위에 다시 입력하세요.";
    case "overloaded": return "서버가 바쁩니다. 잠시 후 다시 시도하세요.";
    case "timeout": return "서버가 제시간에 답하지 못했습니다. 잠시 후 다시 시도하세요.";
    default: return err.status ? `요청을 처리할 수 없습니다 (HTTP ${err.status})` : "오류";
  }
}

function showError(err) {
  const box = $("error");
  box.replaceChildren(el("strong", { text: hint(err) }), el("span", { class: "detail", text: err.message }));
  if (err.status) box.append(el("span", { class: "status", text: `HTTP ${err.status}${err.code ? ` · ${err.code}` : ""}` }));
  box.hidden = false;
}

function clearError() { $("error").hidden = true; }

function askForKey() {
  $("key-card").hidden = false;
  $("api-key").focus();
}

function saveKey() {
  const key = $("api-key").value.trim();
  if (!key) return;
  if (!/^[\x21-\x7e]+$/.test(key)) { // it travels in an HTTP header: visible ASCII only (no Hangul, no spaces)
    showError(new Error("API 키에는 영문, 숫자, 기호만 쓸 수 있습니다 (한글이나 공백은 키가 아닙니다)."));
    return;
  }
  sessionStorage.setItem(KEY_ITEM, key);
  $("api-key").value = "";
  $("key-card").hidden = true;
  clearError();
  loadModelInfo();
  if ($("review").value.trim()) submit();
}

// --- one review ----------------------------------------------------------------------------------

function renderVerdict(rec) {
  const pos = rec.label === 1;
  const badge = $("badge");
  badge.textContent = SENTIMENT[rec.sentiment];
  // nothing read: the label is the model's answer to padding, shown but greyed
  badge.className = `badge ${rec.n_tokens ? (pos ? "pos" : "neg") : "empty"}`;
  $("verdict-text").textContent = rec.text;
  $("p-positive").textContent = pct(rec.p_positive);
  const fill = $("meter-fill");
  fill.className = `meter-fill ${pos ? "pos" : "neg"}`;
  fill.style.setProperty("width", pct(rec.p_positive));
  $("verdict-sub").textContent = rec.n_tokens
    ? `${SENTIMENT[rec.sentiment]} 신뢰도 ${pct(rec.score)} · 모델이 읽은 토큰 ${rec.n_tokens}개`
    : "모델이 읽을 수 있는 토큰이 없습니다: 이 결과는 빈 입력에 대한 모델의 답일 뿐입니다.";
}

function tokenColour(evidence, scale) {
  const strength = scale > 0 ? Math.min(Math.abs(evidence) / scale, 1) : 0;
  const alpha = 0.1 + 0.8 * strength;
  const rgb = evidence >= 0 ? "var(--supports)" : "var(--against)";
  return { background: `rgba(${rgb}, ${alpha.toFixed(3)})`, strong: alpha > 0.55 };
}

function renderTokens(ex) {
  const box = $("tokens");
  box.replaceChildren();
  const fed = ex.tokens.filter((t) => t.evidence !== null && t.evidence !== undefined);
  const scale = Math.max(0.02, ...fed.map((t) => Math.abs(t.evidence)));
  for (const t of ex.tokens) {
    const shown = t.surface || t.text;
    const chip = el("span", { class: "token", tabindex: "0", "data-status": t.status },
      el("span", { class: "surface", text: shown }));
    if (t.evidence !== null && t.evidence !== undefined) {
      const c = tokenColour(t.evidence, scale);
      chip.style.setProperty("background", c.background);
      if (c.strong) chip.classList.add("strong");
      chip.dataset.evidence = String(t.evidence);
      chip.append(el("span", { class: "meta", text: points(t.evidence) }));
    } else {
      chip.classList.add("off");
      chip.append(el("span", { class: "meta", text: t.status === "stopword" ? "불용어" : t.status === "truncated" ? "잘림" : "제외" }));
    }
    chip.addEventListener("mouseenter", () => showTip(chip, t, ex));
    chip.addEventListener("focus", () => showTip(chip, t, ex));
    chip.addEventListener("mouseleave", hideTip);
    chip.addEventListener("blur", hideTip);
    box.append(chip);
  }
}

function tipRow(label, value) {
  return el("div", { class: "row" }, el("span", { text: label }), el("span", { text: value }));
}

function showTip(anchor, t, ex) {
  const tip = $("tip");
  const parts = [el("h3", { text: t.surface || t.text })];
  if (t.surface && t.text !== t.surface) parts.push(tipRow("모델이 보는 형태", t.text));
  parts.push(tipRow("상태", STATUS[t.status] || t.status));
  if (t.evidence !== null && t.evidence !== undefined) {
    const side = t.evidence >= 0 ? "을 뒷받침" : "에 반대"; // 긍정/부정 both take 을/에
    parts.push(tipRow("근거", `${points(t.evidence)} (예측 '${SENTIMENT[ex.sentiment]}'${side})`));
    if (t.p_positive_without !== null) parts.push(tipRow("이 토큰을 지우면 긍정 확률", pct(t.p_positive_without)));
    if (t.p_positive_after !== null) parts.push(tipRow("여기까지 읽었을 때 긍정 확률", pct(t.p_positive_after)));
  }
  for (const [dir, g] of Object.entries(t.gates || {})) {
    parts.push(el("div", { class: "dir", text: `${DIRECTION[dir] || dir} LSTM` }));
    for (const [key, label] of GATES) parts.push(tipRow(label, g[key].toFixed(3)));
    parts.push(tipRow("셀 상태 크기", g.cell_norm.toFixed(3)));
  }
  tip.replaceChildren(...parts);
  tip.hidden = false;
  // below the token (above it near the bottom of the window), in page coordinates: it scrolls with it
  const r = anchor.getBoundingClientRect();
  const w = tip.offsetWidth;
  const h = tip.offsetHeight;
  const left = Math.min(Math.max(8, r.left + r.width / 2 - w / 2), document.documentElement.clientWidth - w - 8);
  const top = r.bottom + 8 + h < window.innerHeight ? r.bottom + 8 : Math.max(8, r.top - h - 8);
  tip.style.setProperty("left", `${left + window.scrollX}px`);
  tip.style.setProperty("top", `${top + window.scrollY}px`);
}

function hideTip() { $("tip").hidden = true; }

// The chart: per fed token (in step order) its evidence as a bar, then the direction's gate means
// as lines on 0..1 and the cell-state norm as a dashed line on its own scale (right axis).
function renderChart(ex, direction) {
  currentDirection = direction;
  const fed = ex.tokens.filter((t) => t.step !== null && t.step !== undefined && t.gates)
    .sort((a, b) => a.step - b.step);
  const box = $("chart");
  box.replaceChildren();
  if (!fed.length) return;
  const left = 56, right = 56;
  const room = Math.max(box.clientWidth - 12, 480) - left - right; // fill the box; scroll past 46 px a token
  const step = Math.max(46, Math.min(120, room / fed.length));
  const width = left + right + step * fed.length;
  const ev = { top: 28, height: 90 };
  const gt = { top: ev.top + ev.height + 42, height: 150 };
  const height = gt.top + gt.height + 44;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": "토큰별 근거와 LSTM 게이트 차트" });
  const x = (i) => left + step * i + step / 2;

  // evidence panel
  const evMax = Math.max(0.02, ...fed.map((t) => Math.abs(t.evidence || 0)));
  const mid = ev.top + ev.height / 2;
  const evY = (v) => mid - (v / evMax) * (ev.height / 2);
  root.append(svg("text", { x: left, y: ev.top - 10, class: "panel-title" }, "근거: 토큰을 지우면 줄어드는 예측 확률"));
  root.append(svg("line", { x1: left, x2: width - right, y1: mid, y2: mid, class: "axis" }));
  root.append(svg("text", { x: left - 8, y: ev.top + 4, "text-anchor": "end" }, points(evMax)));
  root.append(svg("text", { x: left - 8, y: ev.top + ev.height + 4, "text-anchor": "end" }, points(-evMax)));
  fed.forEach((t, i) => {
    const v = t.evidence || 0;
    const y0 = Math.min(evY(v), mid);
    const h = Math.max(1, Math.abs(evY(v) - mid));
    const colour = v >= 0 ? "rgb(22, 163, 74)" : "rgb(220, 38, 38)";
    root.append(svg("rect", { x: x(i) - step * 0.3, y: y0, width: step * 0.6, height: h, rx: 2, fill: colour }));
  });

  // gate panel
  const gY = (v) => gt.top + gt.height - v * gt.height;
  root.append(svg("text", { x: left, y: gt.top - 12, class: "panel-title" },
    `게이트 평균과 셀 상태 · ${DIRECTION[direction] || direction}`));
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    root.append(svg("line", { x1: left, x2: width - right, y1: gY(v), y2: gY(v), class: v === 0 ? "axis" : "grid" }));
    root.append(svg("text", { x: left - 8, y: gY(v) + 4, "text-anchor": "end" }, v.toFixed(2)));
  }
  const cells = fed.map((t) => t.gates[direction].cell_norm);
  const cMax = Math.max(1e-6, ...cells);
  for (const frac of [0, 0.5, 1]) {
    root.append(svg("text", { x: width - right + 8, y: gY(frac) + 4 }, (cMax * frac).toFixed(1)));
  }
  root.append(svg("text", { x: width - right + 8, y: gt.top - 12, class: "panel-title" }, "셀 크기"));
  const line = (values, colour, dashed) => {
    const d = values.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${gY(v).toFixed(1)}`).join(" ");
    root.append(svg("path", { d, fill: "none", stroke: colour, "stroke-width": 2.2,
      "stroke-dasharray": dashed ? "5 4" : "none", "stroke-linejoin": "round" }));
    values.forEach((v, i) => root.append(svg("circle", { cx: x(i), cy: gY(v), r: 3, fill: colour })));
  };
  for (const [key, , colour] of GATES) line(fed.map((t) => t.gates[direction][key]), colour, false);
  line(cells.map((c) => c / cMax), "#667085", true);

  // token labels
  fed.forEach((t, i) => {
    const label = (t.surface || t.text);
    const short = label.length > 5 ? `${label.slice(0, 4)}…` : label;
    const text = svg("text", { x: x(i), y: height - 20, "text-anchor": "middle", class: "label" }, short);
    text.append(svg("title", {}, `${label}: 근거 ${points(t.evidence || 0)}`));
    root.append(text);
  });

  // legend
  let lx = left;
  const ly = height - 4;
  for (const [label, colour, dashed] of [...GATES.map(([, l, c]) => [l, c, false]), ["셀 상태 크기 (오른쪽 축)", "#667085", true]]) {
    root.append(svg("line", { x1: lx, x2: lx + 18, y1: ly - 4, y2: ly - 4, stroke: colour, "stroke-width": 2.2,
      "stroke-dasharray": dashed ? "5 4" : "none" }));
    root.append(svg("text", { x: lx + 23, y: ly }, label));
    lx += 40 + label.length * 12;
  }
  box.append(root);
}

function renderDirections(ex) {
  const first = ex.tokens.find((t) => t.gates);
  const dirs = first ? Object.keys(first.gates) : [];
  const tabs = $("directions");
  tabs.replaceChildren();
  dirs.forEach((dir, i) => {
    const b = el("button", { type: "button", role: "tab", "aria-selected": String(i === 0), text: DIRECTION[dir] || dir });
    b.addEventListener("click", () => {
      for (const other of tabs.children) other.setAttribute("aria-selected", "false");
      b.setAttribute("aria-selected", "true");
      renderChart(current, dir);
    });
    tabs.append(b);
  });
  tabs.hidden = dirs.length < 2;
  if (dirs.length) renderChart(ex, dirs[0]);
}

async function analyseOne(text) {
  const [pred, ex] = await Promise.allSettled([api("v1/predict", { texts: [text] }), api("v1/explain", { text })]);
  if (pred.status === "rejected") throw pred.reason;
  renderVerdict(pred.value.predictions[0]);
  $("single").hidden = false; // shown before drawing: the chart takes the width it is given
  const note = $("explain-note");
  if (ex.status === "fulfilled") {
    $("evidence-block").hidden = false;
    note.hidden = true;
    current = ex.value;
    renderTokens(current);
    renderDirections(current);
  } else if (ex.reason.status === 422) {
    $("evidence-block").hidden = true;
    note.textContent = `토큰별 근거를 보일 수 없습니다: ${ex.reason.message}`;
    note.hidden = false;
  } else {
    throw ex.reason;
  }
}

// --- several reviews -----------------------------------------------------------------------------

async function analyseMany(texts) {
  const data = await api("v1/predict", { texts });
  const body = $("table").tBodies[0];
  body.replaceChildren();
  let positive = 0;
  data.predictions.forEach((rec, i) => {
    const pos = rec.label === 1;
    if (pos) positive += 1;
    const textCell = el("td", { class: "text", text: rec.text });
    if (!rec.n_tokens) textCell.append(el("span", { class: "warn", text: "모델이 읽을 토큰이 없음" }));
    const fill = el("div", { class: `bar-fill ${pos ? "pos" : "neg"}` });
    fill.style.setProperty("width", pct(rec.p_positive));
    const row = el("tr", { tabindex: "0" },
      el("td", { class: "num", text: String(i + 1) }),
      textCell,
      el("td", {}, el("span", { class: `pill ${pos ? "pos" : "neg"}`, text: SENTIMENT[rec.sentiment] })),
      el("td", {}, el("div", { class: "bar" }, el("div", { class: "bar-track" }, fill), el("span", { text: pct(rec.p_positive) }))),
      el("td", { class: "num", text: pct(rec.score) }),
      el("td", { class: "num", text: String(rec.n_tokens) }),
    );
    const open = () => {
      for (const r of body.rows) r.classList.remove("selected");
      row.classList.add("selected");
      run(() => analyseOne(rec.text), true);
    };
    row.addEventListener("click", open);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
    body.append(row);
  });
  $("batch-summary").textContent =
    `${data.predictions.length}개 리뷰 · 긍정 ${positive}개 · 부정 ${data.predictions.length - positive}개`;
  $("batch").hidden = false;
}

// --- the form ------------------------------------------------------------------------------------

let busy = false;

async function run(task, scrollToSingle = false) {
  if (busy) return;
  busy = true;
  const button = $("submit");
  button.disabled = true;
  button.textContent = "분석 중…";
  clearError();
  hideTip();
  try {
    await task();
    if (scrollToSingle) $("single").scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (err) {
    showError(err);
  } finally {
    busy = false;
    button.disabled = false;
    button.textContent = "분석하기";
  }
}

function submit() {
  const raw = $("review").value;
  const lines = raw.split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length);
  if (!lines.length) {
    showError(new Error("분석할 리뷰를 입력하세요. (Type or paste a review first.)"));
    return;
  }
  if (lines.length === 1) {
    $("batch").hidden = true;
    run(() => analyseOne(lines[0]));
  } else {
    $("single").hidden = true;
    run(() => analyseMany(lines));
  }
}

function updateCounter() {
  const lines = $("review").value.split(/\r?\n/).filter((s) => s.trim().length);
  const longest = Math.max(0, ...lines.map((s) => s.trim().length));
  const counter = $("counter");
  counter.textContent = lines.length > 1
    ? `${lines.length}줄 · 가장 긴 줄 ${longest.toLocaleString("ko-KR")}자`
    : `${longest.toLocaleString("ko-KR")} / ${maxChars.toLocaleString("ko-KR")}자`;
  counter.classList.toggle("over", longest > maxChars);
}

async function loadModelInfo() {
  try {
    const m = await api("v1/model");
    maxChars = m.limits.max_text_chars;
    const bits = [`모델 ${m.name}`, `설정 ${m.config.name}`];
    if (m.tokenizer && m.tokenizer.packages) {
      const [pkg, ver] = Object.entries(m.tokenizer.packages)[0] || [];
      // a morphological analyser (Okt, Kiwi), or learnt subword pieces (no analyser)
      const what = m.tokenizer.backend === "subword" ? "서브워드 분할" : "형태소 분석";
      if (pkg) bits.push(`${what} ${pkg} ${ver}`);
    }
    bits.push(`어휘 ${m.vocab_size.toLocaleString("ko-KR")}개`);
    if (m.metrics.validation && m.metrics.validation.accuracy !== null) bits.push(`검증 정확도 ${pct(m.metrics.validation.accuracy)}`);
    if (m.metrics.test && m.metrics.test.accuracy !== null) bits.push(`테스트 정확도 ${pct(m.metrics.test.accuracy)}`);
    bits.push(`ksent ${m.ksent_version}`);
    $("model-info").textContent = bits.join(" · ");
    updateCounter();
  } catch (err) {
    $("model-info").textContent = `모델 정보를 불러오지 못했습니다: ${err.message}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("form").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  $("key-form").addEventListener("submit", (e) => { e.preventDefault(); saveKey(); });
  $("review").addEventListener("input", updateCounter);
  $("review").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); }
  });
  for (const chip of document.querySelectorAll(".chip")) {
    chip.addEventListener("click", () => {
      $("review").value = chip.dataset.multi
        ? [...document.querySelectorAll(".chip[data-example]")].map((c) => c.dataset.example).join("\n")
        : chip.dataset.example;
      updateCounter();
      submit();
    });
  }
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { if (current && !$("single").hidden) renderChart(current, currentDirection); }, 150);
  });
  loadModelInfo();
});

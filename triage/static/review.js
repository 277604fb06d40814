// The review page: classify a complaint (or open one from the review queue), show the evidence,
// send an agent's correction to POST /feedback. Plain JavaScript, no libraries: it must work offline.
// Data from the server is always put into the page as text (textContent), never as HTML.
"use strict";

// Russian names for the codes the API returns; an unknown code is shown as is.
const NAMES = {
  root_cause: {
    delivery: "Доставка", product_quality: "Качество товара", staff_behavior: "Поведение персонала",
    billing: "Оплата и списания", refund: "Возврат денег", support_communication: "Работа поддержки",
    loyalty_promo: "Бонусы и акции", digital_service: "Сайт и приложение",
    privacy_spam: "Персональные данные и спам", other: "Другое",
  },
  tone: { legitimate: "Законная претензия", scandalist: "Скандальный тон" },
  signal: {
    obscenity: "мат", insult: "оскорбление", accusation: "обвинение в обмане", generalization: "обобщение",
    threat_public: "угроза огласки", threat_legal: "угроза суда или регулятора",
    demand_compensation: "требование компенсации", repeat_contact: "повторное обращение",
    health_safety: "здоровье и безопасность", order_number: "номер заказа", date: "дата", amount: "сумма",
  },
  queue: {
    logistics: "Логистика", quality: "Контроль качества", service_staff_lead: "Руководитель персонала",
    finance: "Финансы", returns: "Возвраты", customer_care: "Забота о клиентах",
    marketing_loyalty: "Маркетинг и лояльность", digital: "Цифровые сервисы", data_protection: "Защита данных",
    deescalation: "Урегулирование", senior_manager: "Старший менеджер", legal: "Юристы", supervisor: "Супервайзер",
  },
  action: {
    apologize_and_fix: "извиниться и исправить", apologize_and_compensate: "извиниться и компенсировать",
    deescalate: "снизить напряжение", review: "проверить вручную",
  },
  flag: {
    abuse: "оскорбления", legal: "юридический риск", churn_risk: "риск ухода", repeat_contact: "повторное обращение",
    health_safety: "здоровье и безопасность", chronic: "хронический заявитель", needs_review: "нужна проверка",
  },
};
// Highlight colour groups of signals (see review.css); the rest are facts (order number, date, amount...).
const SIGNAL_GROUP = {
  obscenity: "abuse", insult: "abuse", accusation: "pressure", generalization: "pressure",
  threat_public: "pressure", threat_legal: "pressure", demand_compensation: "pressure", health_safety: "safety",
};

const $ = (id) => document.getElementById(id);
const nameOf = (kind, code) => NAMES[kind][code] || code;
const state = { options: null, text: null, result: null, ref: null, id: null };

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

function askToken() {
  return new Promise((resolve) => {
    const dialog = $("token-dialog");
    $("token-input").value = sessionStorage.getItem("triage-token") || "";
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "ok") sessionStorage.setItem("triage-token", $("token-input").value.trim());
      resolve(dialog.returnValue === "ok");
    }, { once: true });
    dialog.showModal();
  });
}

// fetch with the bearer token; on 401 ask for the token once and retry. Returns [status, body].
async function api(path, options = {}, retried = false) {
  const token = sessionStorage.getItem("triage-token");
  const headers = { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && !retried && await askToken()) return api(path, options, true);
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  return [response.status, body];
}

function problem(status, body) {
  const detail = body && body.detail;
  const text = Array.isArray(detail) ? detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ")
    : (detail || "нет ответа");
  return `Ошибка ${status}: ${text}`;
}

function fillSelect(select, kind, codes) {
  select.replaceChildren(...codes.map((code) => new Option(`${nameOf(kind, code)} (${code})`, code)));
}

async function loadOptions() {
  const [status, body] = await api("/review/options");
  if (status !== 200) { setStatus(problem(status, body), true); return; }
  state.options = body;
  $("model-version").textContent = `модель ${body.model_version}`;
  fillSelect($("fix-cause"), "root_cause", body.root_causes);
  fillSelect($("fix-tone"), "tone", body.tones);
  fillSelect($("fix-queue"), "queue", body.queues);
}

async function loadQueue() {
  const [status, body] = await api("/review/queue?limit=50");
  if (status !== 200) { setStatus(problem(status, body), true); return; }
  const list = $("queue");
  if (!body.items.length) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "Очередь пуста.";
    list.replaceChildren(empty);
    return;
  }
  list.replaceChildren(...body.items.map((item) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.ref = item.ref;
    button.append(item.preview);
    const meta = document.createElement("small");
    meta.textContent = `${nameOf("root_cause", item.root_cause)} · уверенность ${item.confidence.toFixed(2)}`
      + (item.id ? ` · id ${item.id}` : "");
    button.append(meta);
    button.addEventListener("click", () => openItem(item.ref));
    li.append(button);
    return li;
  }));
}

// Spans index the text in Python code points; JavaScript strings count UTF-16 units, which differ
// after an emoji. So the text is cut as an array of code points.
function renderEvidence(container, text, signals) {
  const chars = Array.from(text);
  const bounds = [...new Set([0, chars.length, ...signals.flatMap((s) => s.span)])].sort((a, b) => a - b);
  container.replaceChildren();
  for (let i = 0; i + 1 < bounds.length; i++) {
    const [start, end] = [bounds[i], bounds[i + 1]];
    const piece = chars.slice(start, end).join("");
    const covering = signals.filter((s) => s.span[0] <= start && end <= s.span[1]);
    if (!covering.length) { container.append(piece); continue; }
    const mark = document.createElement("mark");
    mark.className = ["signal", ...covering.map((s) => SIGNAL_GROUP[s.name] || "fact")].join(" ");
    mark.dataset.signals = covering.map((s) => s.name).join(" ");
    mark.title = covering.map((s) => nameOf("signal", s.name)).join(", ");
    mark.textContent = piece;
    container.append(mark);
    for (const s of covering.filter((c) => c.span[1] === end)) {
      const label = document.createElement("span");
      label.className = "signal-name";
      label.dataset.signal = s.name;
      label.textContent = nameOf("signal", s.name);
      container.append(label);
    }
  }
}

function listItem(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

function renderResult(text, result) {
  const threshold = state.options ? state.options.scandalist_threshold : 0.5;
  $("cause").textContent = nameOf("root_cause", result.root_cause);
  $("cause").dataset.code = result.root_cause;
  const scores = Object.entries(result.root_cause_scores).sort((a, b) => b[1] - a[1]);
  $("scores").replaceChildren(...scores.map(([code, p]) => {
    const li = document.createElement("li");
    li.classList.toggle("top", code === result.root_cause);
    const label = document.createElement("span");
    label.textContent = nameOf("root_cause", code);
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${Math.round(p * 100)}%`;
    bar.append(fill);
    const value = document.createElement("span");
    value.textContent = p.toFixed(3);
    li.append(label, bar, value);
    return li;
  }));
  $("tone").textContent = nameOf("tone", result.tone);
  $("tone").dataset.code = result.tone;
  $("tone-score").textContent = `оценка скандальности ${result.tone_score.toFixed(3)} (порог ${threshold})`
    + (result.low_confidence ? " · модель не уверена" : "");
  const route = result.route;
  const rows = [["Очередь", `${nameOf("queue", route.queue)} (${route.queue})`], ["Приоритет", route.priority],
    ["Срок", `${route.sla_hours} ч`], ["Действие", nameOf("action", route.action)],
    ["Отметки", route.flags.map((f) => nameOf("flag", f)).join(", ") || "—"],
    ["Копия", route.cc.map((q) => nameOf("queue", q)).join(", ") || "—"]];
  $("route").replaceChildren(...rows.flatMap(([term, value]) => {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    return [dt, dd];
  }));
  $("reasons").replaceChildren(...route.reasons.map(listItem));
  renderEvidence($("evidence"), text, result.signals);
  $("signals").replaceChildren(...(result.signals.length
    ? result.signals.map((s) => listItem(`${nameOf("signal", s.name)} (${s.name}): «${s.text}»`))
    : [listItem("Сигналов не найдено.")]));
  $("fix-cause").value = result.root_cause;
  $("fix-tone").value = result.tone;
  $("fix-queue").value = route.queue;
  $("result").hidden = false;
}

function show(text, result, ref, id) {
  Object.assign(state, { text, result, ref, id });
  renderResult(text, result);
  for (const button of $("queue").querySelectorAll("button")) {
    button.setAttribute("aria-current", String(button.dataset.ref === ref));
  }
}

async function classify() {
  const text = $("complaint").value;
  if (!text.trim()) { setStatus("Вставьте текст жалобы.", true); return; }
  setStatus("Классифицирую…");
  const [status, body] = await api("/classify", { method: "POST", body: JSON.stringify({ text }) });
  if (status !== 200) { setStatus(problem(status, body), true); return; }
  show(text, body, null, null);
  setStatus(body.low_confidence ? "Готово. Модель не уверена — проверьте результат." : "Готово.");
}

async function openItem(ref) {
  setStatus("Открываю…");
  const [status, body] = await api(`/review/items/${encodeURIComponent(ref)}`);
  if (status !== 200) { setStatus(problem(status, body), true); return; }
  $("complaint").value = body.text;
  show(body.text, body.result, body.ref, body.id);
  setStatus(`Открыта жалоба ${body.id ? `id ${body.id}` : "из очереди"}.`);
  $("fix-cause").focus();
}

async function submitCorrection() {
  if (!state.result) { setStatus("Сначала классифицируйте жалобу.", true); return; }
  const chosen = { root_cause: $("fix-cause").value, tone: $("fix-tone").value, queue: $("fix-queue").value };
  const predicted = { root_cause: state.result.root_cause, tone: state.result.tone, queue: state.result.route.queue };
  const corrected = Object.fromEntries(Object.entries(chosen).filter(([key, value]) => value !== predicted[key]));
  if (!Object.keys(corrected).length) {
    setStatus("Ничего не изменено: выберите другую причину, тон или очередь — или нажмите «Модель права».", true);
    return;
  }
  const agent = $("agent").value.trim();
  if (!agent) { setStatus("Укажите сотрудника.", true); $("agent").focus(); return; }
  localStorage.setItem("triage-agent", agent);
  const comment = $("comment").value.trim();
  const record = { text: state.text, model_version: state.result.model_version, predicted: state.result, corrected,
    agent, ...(state.id ? { id: state.id } : {}), ...(comment ? { comment } : {}) };
  const [status, body] = await api("/feedback", { method: "POST", body: JSON.stringify(record) });
  if (status !== 201) { setStatus(problem(status, body), true); return; }
  setStatus(`Исправление сохранено (№ ${body.feedback_id}).`);
  $("comment").value = "";
  loadQueue();
}

async function confirmModel() {
  if (!state.ref) { setStatus("Эта жалоба не из очереди: убирать нечего.", true); return; }
  const [status, body] = await api(`/review/queue/${encodeURIComponent(state.ref)}`, { method: "DELETE" });
  if (status !== 204) { setStatus(problem(status, body), true); return; }
  setStatus("Отмечено: модель права. Жалоба убрана из очереди.");
  state.ref = null;
  loadQueue();
}

function moveInQueue(step) {
  const buttons = [...$("queue").querySelectorAll("button")];
  const next = buttons[buttons.indexOf(document.activeElement) + step];
  if (next) next.focus();
}

function onKey(event) {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
  if (event.ctrlKey && event.key === "Enter") { event.preventDefault(); classify(); }
  else if (event.ctrlKey && (event.key === "s" || event.key === "ы")) { event.preventDefault(); submitCorrection(); }
  else if (event.altKey && (event.key === "q" || event.key === "й")) {
    event.preventDefault();
    const first = $("queue").querySelector("button");
    if (first) first.focus();
  } else if (event.key === "/" && !typing) { event.preventDefault(); $("complaint").focus(); }
  else if ($("queue").contains(document.activeElement) && ["ArrowDown", "ArrowUp"].includes(event.key)) {
    event.preventDefault();
    moveInQueue(event.key === "ArrowDown" ? 1 : -1);
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("agent").value = localStorage.getItem("triage-agent") || "";
  $("classify-form").addEventListener("submit", (e) => { e.preventDefault(); classify(); });
  $("correction-form").addEventListener("submit", (e) => { e.preventDefault(); submitCorrection(); });
  $("open-form").addEventListener("submit", (e) => { e.preventDefault(); openItem($("open-id").value.trim()); });
  $("confirm").addEventListener("click", confirmModel);
  $("queue-refresh").addEventListener("click", loadQueue);
  $("token-button").addEventListener("click", async () => { if (await askToken()) { await loadOptions(); loadQueue(); } });
  document.addEventListener("keydown", onKey);
  await loadOptions();
  await loadQueue();
  $("complaint").focus();
});

// skillpath web page: plain JS, no build step. Talks only to the /v1 API of this server.
// Every piece of server text is inserted with textContent, never as HTML.
"use strict";

const API = "/v1";
const state = { target: null, skills: new Map() };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function getJSON(url, options = {}) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const problem = body || {};
    const where = (problem.errors || []).map((e) => `${e.field}: ${e.msg}`).join("; ");
    const error = new Error(where || problem.detail || `request failed (${response.status})`);
    error.problem = problem;
    throw error;
  }
  return body;
}

// -- ARIA combobox (WAI-ARIA APG "list autocomplete") -------------------------------------
function combobox(input, list, fetchOptions, onChoose) {
  let options = [];
  let active = -1;
  let timer = null;
  let controller = null;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    const items = list.querySelectorAll('[role="option"]');
    items.forEach((item, i) => item.setAttribute("aria-selected", i === index ? "true" : "false"));
    active = index;
    if (index >= 0 && items[index]) {
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function render() {
    list.replaceChildren();
    if (!options.length) {
      list.append(el("li", { class: "empty", role: "presentation", text: "No match" }));
    }
    options.forEach((option, i) => {
      const item = el(
        "li",
        { id: `${list.id}-opt-${i}`, role: "option", "aria-selected": "false" },
        el("span", { class: "label", text: option.label }),
        option.hint ? el("span", { class: "hint", text: option.hint }) : null,
      );
      item.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus
      item.addEventListener("click", () => choose(i));
      list.append(item);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(-1);
  }

  function choose(index) {
    const option = options[index];
    if (!option) return;
    close();
    onChoose(option);
  }

  async function update() {
    const query = input.value.trim();
    if (query.length < 2) {
      close();
      return;
    }
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      options = await fetchOptions(query, controller.signal);
      if (document.activeElement === input) render();
    } catch (error) {
      if (error.name !== "AbortError") close();
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, 180);
  });
  input.addEventListener("keydown", (event) => {
    const open = !list.hidden && options.length > 0;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!open) update();
      else highlight((active + 1) % options.length);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (open) highlight(active <= 0 ? options.length - 1 : active - 1);
    } else if (event.key === "Enter") {
      if (open) {
        event.preventDefault();
        choose(active >= 0 ? active : 0);
      }
    } else if (event.key === "Escape") {
      if (!list.hidden) {
        event.preventDefault();
        close();
      }
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 120));
}

async function searchOccupations(query, signal) {
  const hits = await getJSON(`${API}/occupations/search?q=${encodeURIComponent(query)}&k=8`, {
    signal,
  });
  return hits.map((h) => ({ uri: h.uri, label: h.label, hint: h.isco_group ? `ISCO ${h.isco_group}` : "" }));
}

async function searchSkills(query, signal) {
  const hits = await getJSON(`${API}/skills/search?q=${encodeURIComponent(query)}&k=8`, { signal });
  return hits.map((h) => ({ uri: h.uri, label: h.label, hint: h.skill_type || "" }));
}

// -- chosen skills -----------------------------------------------------------------------
function renderChips() {
  const list = document.getElementById("chosen-skills");
  list.replaceChildren();
  for (const [uri, label] of state.skills) {
    const remove = el("button", { type: "button", class: "chip-remove", "aria-label": `Remove ${label}` }, "×");
    remove.addEventListener("click", () => {
      state.skills.delete(uri);
      renderChips();
      document.getElementById("skill-input").focus();
    });
    list.append(el("li", { class: "chip" }, el("span", { text: label }), remove));
  }
}

// -- results -----------------------------------------------------------------------------
const pct = (x) => `${Math.round((x || 0) * 100)}%`;

function gapList(title, skills) {
  const shown = skills.slice(0, 12);
  const list = el("ul", { class: "skills" });
  for (const s of shown) {
    list.append(el("li", {}, el("span", { text: s.label }), s.held_credit > 0 ? el("span", { class: "partial", text: ` (partly held)` }) : null));
  }
  const box = el("div", { class: "gap-col" }, el("h4", { text: `${title} (${skills.length})` }), list);
  if (skills.length > shown.length) {
    const rest = el("ul", { class: "skills" });
    for (const s of skills.slice(shown.length)) rest.append(el("li", { text: s.label }));
    box.append(el("details", {}, el("summary", { text: `Show ${skills.length - shown.length} more` }), rest));
  }
  if (!skills.length) box.append(el("p", { class: "muted", text: "None left: you hold them all." }));
  return box;
}

function renderGap(data) {
  const gap = data.gap;
  const essential = gap.skills.filter((s) => s.relation === "essential");
  const optional = gap.skills.filter((s) => s.relation === "optional");
  const section = el(
    "section",
    { class: "gap", "aria-labelledby": "gap-heading" },
    el("h3", { id: "gap-heading", text: `Your skill gap for “${data.target.occupation_label}”` }),
    el("p", {
      class: "muted",
      text:
        `${essential.length} essential and ${optional.length} optional skills still to learn; ` +
        `you already hold ${gap.held_count} of its skills` +
        (gap.partial_count ? ` and part of ${gap.partial_count} more.` : "."),
    }),
    el("div", { class: "gap-cols" }, gapList("Essential", essential), gapList("Optional", optional)),
  );
  for (const note of data.notes || []) section.append(el("p", { class: "note", text: note }));
  if (data.target.ambiguous && data.target.alternatives.length) section.append(alternativesBox(data.target));
  return section;
}

// An ambiguous target title: offer the other occupations it may mean, one click each.
function alternativesBox(target) {
  const box = el("div", { class: "alternatives", role: "group", "aria-label": "Other occupations this title may mean" },
    el("span", { text: "Did you mean: " }));
  for (const alt of target.alternatives.slice(0, 5)) {
    const button = el("button", { type: "button", class: "alternative", text: alt.label });
    button.addEventListener("click", () => {
      state.target = { uri: alt.uri, label: alt.label };
      document.getElementById("target-input").value = alt.label;
      document.getElementById("profile-form").requestSubmit();
    });
    box.append(button, " ");
  }
  return box;
}

function evidenceItem(e) {
  return el(
    "li",
    {},
    el("strong", { text: e.label }),
    el("span", { class: "rel", text: ` (${e.relation})` }),
    e.evidence ? el("blockquote", { text: e.evidence }) : null,
  );
}

function renderRecommendations(data) {
  const section = el(
    "section",
    { class: "recs", "aria-labelledby": "recs-heading" },
    el("h3", { id: "recs-heading", text: "Recommended micro-credentials" }),
  );
  if (!data.explanations.length) {
    section.append(el("p", { class: "note", text: data.ranking.reason_if_empty || "No credential fits." }));
    return section;
  }
  const list = el("ol", { class: "cards" });
  for (const why of data.explanations) {
    const title = why.url
      ? el("a", { href: why.url, target: "_blank", rel: "noopener noreferrer", text: why.title })
      : el("span", { text: why.title });
    const covered = el("ul", { class: "evidence", "aria-label": "Gap skills covered, with evidence" });
    for (const e of [...why.essential, ...why.optional].slice(0, 6)) covered.append(evidenceItem(e));
    list.append(
      el(
        "li",
        { class: "card explanation" },
        el("h4", {}, title),
        el("p", { class: "sentence", text: why.sentence }),
        covered,
        why.details.length ? el("p", { class: "muted small", text: why.details.join(" · ") }) : null,
      ),
    );
  }
  section.append(list);
  return section;
}

function renderPathway(data) {
  const p = data.pathway;
  const section = el(
    "section",
    { class: "pathway", "aria-labelledby": "pathway-heading" },
    el("h3", { id: "pathway-heading", text: "Suggested pathway" }),
    el("p", { text: data.pathway_explanation.sentence }),
  );
  if (p.steps.length) {
    section.append(
      el(
        "p",
        { class: "coverage" },
        el("label", { for: "coverage-meter", text: `Gap covered: ${pct(p.coverage)} ` }),
        el("meter", { id: "coverage-meter", min: "0", max: "1", value: String(p.coverage) }),
        el("span", { class: "muted", text: ` (essential skills: ${pct(p.essential_coverage)})` }),
      ),
    );
    // The engine's step texts are numbered already ("1. ..."): an unnumbered list.
    const steps = el("ul", { class: "steps", "aria-label": "Pathway steps, in learning order" });
    for (const text of data.pathway_explanation.steps) steps.append(el("li", { text }));
    section.append(steps);
  } else if (p.reason_if_empty) {
    section.append(el("p", { class: "note", text: p.reason_if_empty }));
  }
  return section;
}

function number(id) {
  const value = document.getElementById(id).value;
  return value === "" ? null : Number(value);
}

function buildRequest() {
  const language = document.getElementById("language").value;
  const mode = document.getElementById("mode").value;
  const text = document.getElementById("cv-text").value.trim();
  const constraints = {};
  const hours = number("budget-hours");
  const ects = number("budget-ects");
  const price = number("max-price");
  if (hours !== null) constraints.budget_hours = hours;
  if (ects !== null) constraints.budget_ects = ects;
  if (price !== null) constraints.max_price = price;
  if (language) constraints.languages = [language];
  if (mode) constraints.modes = [mode];
  return {
    target: state.target ? state.target.uri : document.getElementById("target-input").value.trim(),
    profile: { skills: [...state.skills.keys()], text: text || null },
    constraints,
    k: 5,
  };
}

async function submit(event) {
  event.preventDefault();
  const error = document.getElementById("form-error");
  const status = document.getElementById("status");
  const body = document.getElementById("results-body");
  const button = document.getElementById("submit");
  error.textContent = "";
  const request = buildRequest();
  if (!request.target) {
    error.textContent = "Choose a target job first.";
    document.getElementById("target-input").focus();
    return;
  }
  button.disabled = true;
  body.setAttribute("aria-busy", "true");
  status.textContent = "Working out your gap and recommendations…";
  try {
    const data = await getJSON(`${API}/recommendations`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
    body.replaceChildren(renderGap(data), renderRecommendations(data), renderPathway(data));
    status.textContent = `${data.explanations.length} recommendations for ${data.target.occupation_label}.`;
    document.getElementById("results").focus(); // brings them into view on a phone, too
  } catch (e) {
    status.textContent = "";
    error.textContent = `Sorry, that did not work: ${e.message}`;
  } finally {
    button.disabled = false;
    body.setAttribute("aria-busy", "false");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const targetInput = document.getElementById("target-input");
  const chosen = document.getElementById("target-chosen");
  combobox(targetInput, document.getElementById("target-list"), searchOccupations, (option) => {
    state.target = option;
    targetInput.value = option.label;
    chosen.textContent = `Target: ${option.label}`;
  });
  targetInput.addEventListener("input", () => {
    if (state.target && targetInput.value.trim() !== state.target.label) {
      state.target = null;
      chosen.textContent = "";
    }
  });
  const skillInput = document.getElementById("skill-input");
  combobox(skillInput, document.getElementById("skill-list"), searchSkills, (option) => {
    state.skills.set(option.uri, option.label);
    skillInput.value = "";
    renderChips();
  });
  document.getElementById("profile-form").addEventListener("submit", submit);
});

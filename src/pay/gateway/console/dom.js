// Building the page from data, never from HTML strings: text is always text, and nothing runs that the
// gateway's Content-Security-Policy would refuse.

import { newIdempotencyKey } from "./api.js";
import { t } from "./i18n.js";

// h("button", { class: "secondary", onclick: f }, "text", child…)
export function h(tag, properties = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name in element) element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

export function card(titleKey, ...children) {
  return h("section", { class: "card", "data-card": titleKey }, h("h2", {}, t(titleKey)), ...children);
}

export function problemView(problem) {
  return h(
    "div",
    { class: "problem", role: "alert" },
    h("strong", {}, problem.title ?? String(problem)),
    problem.detail ? h("span", {}, problem.detail) : null,
  );
}

export function table(columns, rows) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map((column) => h("th", { class: column.class }, t(column.key))))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", {}, columns.map((column) => h("td", { class: column.class }, column.value(row))))),
    ),
  );
}

// A value of a number field as the API wants it: a JSON integer when it is one, else as typed, so the
// service's own refusal explains what is wrong with it.
function valueOf(field, input) {
  if (field.type === "amount") return /^\d+$/.test(input.value) ? Number(input.value) : input.value;
  if (field.type === "checkbox") return input.checked;
  return input.value.trim();
}

function fieldView(field, inputs) {
  const label = t(field.label);
  let input;
  if (field.type === "select") {
    input = h(
      "select",
      { name: field.name },
      field.options.map((option) => h("option", { value: option.value }, t(option.label))),
    );
  } else {
    const type = field.type === "amount" ? "number" : (field.type ?? "text");
    const number = field.type === "amount" ? { min: "1", step: "1", inputmode: "numeric" } : {};
    input = h("input", { name: field.name, type, required: field.required ?? true, ...number });
  }
  if (field.value !== undefined) {
    if (field.type === "checkbox") input.checked = field.value;
    else input.value = field.value;
  }
  inputs.set(field, input);
  if (field.type === "checkbox") return h("label", { class: "check" }, input, label);
  return h("label", {}, label, input);
}

// A form for one action of the user: while it runs its button is disabled and says so; its outcome, or the
// problem that refused it, is shown under it. An action that moves money gets an Idempotency-Key, the same
// for every retry of the same values and a new one once they change or the action has succeeded.
export function actionForm({ fields = [], submit, run, show = () => null, busyKey = "busy.working" }) {
  const inputs = new Map();
  const button = h("button", { type: "submit" }, t(submit));
  const outcome = h("div", { class: "outcome", "aria-live": "polite" });
  let idempotencyKey = null;
  const form = h("form", {}, fields.map((field) => fieldView(field, inputs)), button, outcome);
  form.addEventListener("input", () => {
    idempotencyKey = null;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(fields.map((field) => [field.name, valueOf(field, inputs.get(field))]));
    idempotencyKey ??= newIdempotencyKey();
    button.disabled = true;
    button.textContent = t(busyKey);
    form.setAttribute("aria-busy", "true");
    outcome.replaceChildren(h("span", { class: "busy muted" }, t(busyKey)));
    try {
      const result = await run(values, idempotencyKey);
      idempotencyKey = null;
      outcome.replaceChildren(show(result) ?? "");
    } catch (problem) {
      outcome.replaceChildren(problemView(problem));
    } finally {
      button.disabled = false;
      button.textContent = t(submit);
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}

// A part of a view filled from the API: shows progress while loading, the problem if the call fails, and
// reloads on demand.
export function loaded(load, render) {
  const place = h("div", { class: "loaded" });
  async function reload() {
    place.replaceChildren(h("span", { class: "busy muted" }, t("busy.loading")));
    try {
      place.replaceChildren(await render(await load(), reload));
    } catch (problem) {
      place.replaceChildren(problemView(problem));
    }
  }
  reload();
  place.reload = reload;
  return place;
}

// A cursor-paged list: the first page, then a button for each next one.
export function pagedTable(columns, loadPage, emptyKey) {
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, t("list.more"));
  const status = h("div", { class: "outcome" });
  const head = h("thead", {}, h("tr", {}, columns.map((column) => h("th", { class: column.class }, t(column.key)))));
  let cursor = null;
  async function next() {
    more.disabled = true;
    status.replaceChildren(h("span", { class: "busy muted" }, t("busy.loading")));
    try {
      const page = await loadPage(cursor);
      status.replaceChildren();
      if (!cursor && page.items.length === 0) status.append(h("p", { class: "muted" }, t(emptyKey)));
      for (const row of page.items) {
        body.append(h("tr", {}, columns.map((column) => h("td", { class: column.class }, column.value(row)))));
      }
      cursor = page.nextCursor;
      more.hidden = !cursor;
    } catch (problem) {
      status.replaceChildren(problemView(problem));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", next);
  next();
  return h("div", {}, h("table", {}, head, body), status, more);
}

export function statusView(status, reason) {
  const kind = ["SUCCEEDED", "APPROVED", "SETTLED", "DELIVERED"].includes(status)
    ? "success"
    : ["FAILED", "GAVE_UP", "PARTIALLY_FAILED"].includes(status)
      ? "failed"
      : "";
  return h("span", { class: kind }, t(`status.${status}`), reason ? ` — ${reason}` : "");
}

// Offers `text` as a file named `name`, as if downloaded.
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

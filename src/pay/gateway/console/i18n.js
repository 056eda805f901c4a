// The console's words in Korean and English: one catalogue per language (messages/*.json), the choice kept in
// localStorage, the browser's language the first time.

const LANGUAGES = ["en", "ko"];
const STORAGE_KEY = "pay.console.language";

let language = "en";
let catalogue = {};

function preferred() {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(stored)) return stored;
  return navigator.language.toLowerCase().startsWith("ko") ? "ko" : "en";
}

export async function loadLanguage(wanted = preferred()) {
  const answer = await fetch(`/console/messages/${wanted}.json`);
  if (!answer.ok) throw new Error(`messages/${wanted}.json: HTTP ${answer.status}`);
  catalogue = await answer.json();
  language = wanted;
  localStorage.setItem(STORAGE_KEY, wanted);
  document.documentElement.lang = wanted;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
}

export function currentLanguage() {
  return language;
}

// The message for `key` with `{name}` placeholders filled from `values`; the key itself if it is missing, so
// a forgotten message shows where it is missing rather than nothing.
export function t(key, values = {}) {
  const text = catalogue[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

export function won(amount) {
  return t("money.won", { amount: new Intl.NumberFormat(language).format(amount) });
}

export function moment(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(language, { dateStyle: "short", timeStyle: "medium" }).format(new Date(iso));
}

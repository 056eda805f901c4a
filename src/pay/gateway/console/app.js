// The console's frame: the language switch, who is logged in, and one view per role — every member has its
// wallet, a corporate member its franchises, the admin the platform's operations.

import { currentSession, logOut, onSessionEnded } from "./api.js";
import { h, problemView } from "./dom.js";
import { currentLanguage, loadLanguage, t } from "./i18n.js";
import { adminView } from "./views/admin.js";
import { entryView } from "./views/entry.js";
import { memberView } from "./views/member.js";
import { merchantView } from "./views/merchant.js";
import { closeNotifications } from "./views/notifications.js";

const VIEWS = {
  wallet: { label: "tab.wallet", render: memberView, offered: () => true },
  merchant: { label: "tab.merchant", render: merchantView, offered: (session) => session.member.isCorp },
  admin: { label: "tab.admin", render: adminView, offered: (session) => session.role === "admin" },
};

const main = document.getElementById("main");
const tabs = document.getElementById("tabs");
const who = document.getElementById("who");
const logout = document.getElementById("logout");
const language = document.getElementById("language");

let active = "wallet";
let notice = null;

function offeredViews(session) {
  return Object.keys(VIEWS).filter((name) => VIEWS[name].offered(session));
}

function render() {
  closeNotifications();
  const session = currentSession();
  logout.hidden = !session;
  if (!session) {
    tabs.replaceChildren();
    who.replaceChildren();
    main.replaceChildren(...entryView({ notice, entered }));
    return;
  }
  const offered = offeredViews(session);
  if (!offered.includes(active)) active = "wallet";
  tabs.replaceChildren(
    ...offered.map((name) =>
      h(
        "button",
        { type: "button", class: name === active ? "active" : "", "data-tab": name, onclick: () => show(name) },
        t(VIEWS[name].label),
      ),
    ),
  );
  who.replaceChildren(t("session.who", { name: session.member.name, email: session.member.email }));
  main.replaceChildren(...VIEWS[active].render());
}

function entered() {
  notice = null;
  active = currentSession().role === "admin" ? "admin" : "wallet";
  render();
}

function show(name) {
  active = name;
  render();
}

onSessionEnded((reason) => {
  notice = reason === "expired" ? "session.expired" : null;
  active = "wallet";
  render();
});

logout.addEventListener("click", () => logOut().catch(() => {}));

language.addEventListener("change", async () => {
  await loadLanguage(language.value);
  render();
});

try {
  await loadLanguage();
  language.value = currentLanguage();
  render();
} catch (error) {
  main.replaceChildren(problemView({ title: "The console could not load its messages", detail: String(error) }));
}

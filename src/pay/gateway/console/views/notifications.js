// The member's live feed: the latest entries, then each new one as it happens, over Server-Sent Events.
//
// EventSource cannot send an Authorization header, so each connection opens with a one-use ticket
// (`POST /notifications/ticket`). The browser reconnects by itself after a drop, but with the spent ticket;
// when it gives up, a new ticket opens a new stream and the feed's newest page fills the gap. Entries are
// numbered, so each is shown once and in its place, whichever way it came first.

import { currentSession, get, post } from "../api.js";
import { card, h, problemView } from "../dom.js";
import { moment, t } from "../i18n.js";

const KINDS = [
  "recharge.succeeded",
  "recharge.failed",
  "withdrawal.succeeded",
  "withdrawal.failed",
  "transfer.received",
  "remittance.succeeded",
  "remittance.failed",
  "payment.approved",
  "payment.failed",
  "refund.succeeded",
  "refund.failed",
  "settlement.paid",
  "settlement.failed",
];
const REOPEN_MS = 2000;
const CATCH_UP_LIMIT = 20;

let source = null;

export function closeNotifications() {
  source?.close();
  source = null;
}

export function notificationsCard() {
  const list = h("ul", { class: "notices", "data-notices": "" });
  const state = h("p", { class: "muted" }, t("notices.connecting"));
  const shown = new Set();

  // Newest first: each entry goes before the first one older than it.
  function show(notice) {
    if (shown.has(notice.eventId)) return;
    shown.add(notice.eventId);
    const entry = h(
      "li",
      { "data-kind": notice.kind, "data-event-id": notice.eventId },
      h("strong", {}, t(`notice.${notice.kind}`)),
      " ",
      h("span", {}, notice.text),
      h("div", { class: "muted" }, moment(notice.occurredAt)),
    );
    const older = [...list.children].find((other) => Number(other.dataset.eventId) < notice.eventId);
    list.insertBefore(entry, older ?? null);
  }

  async function catchUp() {
    const page = await get("/notifications", { limit: CATCH_UP_LIMIT });
    page.items.forEach(show);
  }

  // Tried again while the card is on the page and the member logged in: a restarting notification service
  // answers again within seconds.
  function reopenLater() {
    setTimeout(() => {
      if (list.isConnected && currentSession()) connect();
    }, REOPEN_MS);
  }

  async function open() {
    const { ticket } = await post("/notifications/ticket");
    if (!list.isConnected) return;
    const opened = new EventSource(`/notifications/stream?ticket=${encodeURIComponent(ticket)}`);
    closeNotifications();
    source = opened;
    opened.addEventListener("open", () => state.replaceChildren(t("notices.live")));
    for (const kind of KINDS) opened.addEventListener(kind, (event) => show(JSON.parse(event.data)));
    opened.addEventListener("error", () => {
      if (opened.readyState !== EventSource.CLOSED || source !== opened) return;
      state.replaceChildren(t("notices.reconnecting"));
      reopenLater();
    });
  }

  function connect() {
    open()
      .then(catchUp)
      .catch((problem) => {
        state.replaceChildren(problemView(problem));
        reopenLater();
      });
  }

  connect();
  return card("notices.title", state, list);
}

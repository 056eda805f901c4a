// The member's live feed: the latest entries, then each new one as it happens, over Server-Sent Events.
//
// EventSource cannot send an Authorization header, so each connection opens with a one-use ticket
// (`POST /notifications/ticket`). The browser reconnects by itself after a drop, but with the spent ticket;
// when it gives up, a new ticket opens a new stream and the feed's newest page fills the gap (entries are
// numbered, so none is shown twice).

import { get, post } from "../api.js";
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

let source = null;

export function closeNotifications() {
  source?.close();
  source = null;
}

export function notificationsCard() {
  const list = h("ul", { class: "notices", "data-notices": "" });
  const state = h("p", { class: "muted" }, t("notices.connecting"));
  let lastSeen = 0;

  function show(notice) {
    if (notice.eventId <= lastSeen) return;
    lastSeen = notice.eventId;
    list.prepend(
      h(
        "li",
        { "data-kind": notice.kind },
        h("strong", {}, t(`notice.${notice.kind}`)),
        " ",
        h("span", {}, notice.text),
        h("div", { class: "muted" }, moment(notice.occurredAt)),
      ),
    );
  }

  async function catchUp() {
    const page = await get("/notifications", { limit: 20 });
    for (const notice of page.items.reverse()) show(notice);
  }

  async function open() {
    closeNotifications();
    try {
      const { ticket } = await post("/notifications/ticket");
      const opened = new EventSource(`/notifications/stream?ticket=${encodeURIComponent(ticket)}`);
      source = opened;
      opened.addEventListener("open", () => state.replaceChildren(t("notices.live")));
      for (const kind of KINDS) opened.addEventListener(kind, (event) => show(JSON.parse(event.data)));
      opened.addEventListener("error", () => {
        if (opened.readyState !== EventSource.CLOSED || source !== opened) return;
        state.replaceChildren(t("notices.reconnecting"));
        setTimeout(() => source === opened && open().then(catchUp).catch(() => {}), REOPEN_MS);
      });
    } catch (problem) {
      state.replaceChildren(problemView(problem));
    }
  }

  catchUp()
    .catch((problem) => state.replaceChildren(problemView(problem)))
    .then(open);
  return card("notices.title", state, list);
}

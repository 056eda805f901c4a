// A corporate member's franchises: registering one (its webhook secret shown once), and for each its payments
// by period with refunds, its settlements, and its webhook deliveries with redelivery.

import { currentSession, get, post } from "../api.js";
import { actionForm, card, download, h, loaded, pagedTable, problemView, statusView, table } from "../dom.js";
import { moment, t, won } from "../i18n.js";
import { businessToday, periodInstants } from "../period.js";
import { refundForm } from "./refund.js";

export function merchantView() {
  const me = currentSession().membershipId;
  const detail = h("div", { class: "card wide", hidden: true });
  const franchises = loaded(
    () => get("/franchise", { ownerMembershipId: me, limit: 100 }),
    (page) =>
      page.items.length === 0
        ? h("p", { class: "muted" }, t("merchant.none"))
        : table(
            [
              { key: "column.franchise", value: (franchise) => franchise.name },
              { key: "column.franchiseId", value: (franchise) => h("span", { class: "id" }, franchise.franchiseId) },
              { key: "column.feeRate", class: "amount", value: (franchise) => `${franchise.feeRate} %` },
              {
                key: "column.open",
                value: (franchise) =>
                  h(
                    "button",
                    { type: "button", class: "secondary", onclick: () => showFranchise(detail, franchise) },
                    t("merchant.open"),
                  ),
              },
            ],
            page.items,
          ),
  );
  return [
    card("merchant.franchises", franchises),
    card("merchant.register", registerForm(me, () => franchises.reload())),
    detail,
  ];
}

function registerForm(me, registered) {
  return actionForm({
    fields: [
      { name: "name", label: "field.franchiseName" },
      { name: "contact", label: "field.contact" },
      { name: "bankName", label: "field.bankName", value: "KB" },
      { name: "bankAccountNumber", label: "field.bankAccountNumber" },
      { name: "feeRate", label: "field.feeRate", value: "3.5" },
      { name: "webhookUrl", label: "field.webhookUrl", type: "url", required: false },
    ],
    submit: "merchant.registerButton",
    busyKey: "busy.askingBank",
    run: async ({ webhookUrl, ...franchise }, key) => {
      const body = { ownerMembershipId: me, ...franchise, ...(webhookUrl ? { webhookUrl } : {}) };
      const answer = await post("/franchise/register", body, key);
      registered();
      return answer;
    },
    show: (franchise) =>
      h(
        "div",
        { class: "secret" },
        h(
          "p",
          {},
          t("merchant.registered"),
          " ",
          h("span", { class: "id", "data-franchise-id": franchise.franchiseId }, franchise.franchiseId),
        ),
        h("p", {}, t("merchant.secretOnce")),
        h("code", { class: "id", "data-webhook-secret": "" }, franchise.webhookSecret),
      ),
  });
}

function showFranchise(detail, franchise) {
  detail.hidden = false;
  detail.replaceChildren(
    h("h2", {}, franchise.name, " ", h("span", { class: "id" }, franchise.franchiseId)),
    h("div", { class: "side-by-side" }, paymentsPart(franchise), settlementsPart(franchise)),
    deliveriesPart(franchise),
  );
  detail.scrollIntoView({ block: "start" });
}

function paymentsPart(franchise) {
  const results = h("div");
  const today = businessToday();
  const showPeriod = (from, to) =>
    results.replaceChildren(
      pagedTable(
        [
          { key: "column.when", value: (payment) => moment(payment.approvedAt) },
          { key: "column.payment", value: (payment) => h("span", { class: "id" }, payment.paymentId) },
          { key: "column.price", class: "amount", value: (payment) => won(payment.requestPrice) },
          { key: "column.refunded", class: "amount", value: (payment) => won(payment.refundedAmount) },
          { key: "column.fee", class: "amount", value: (payment) => won(payment.fee) },
          { key: "column.status", value: (payment) => statusView(payment.status) },
          { key: "column.refund", value: (payment) => refundForm(payment) },
        ],
        (cursor) =>
          get("/payment/period", {
            ...periodInstants(from, to),
            franchiseId: franchise.franchiseId,
            cursor,
            limit: 20,
          }),
        "merchant.noPayments",
      ),
    );
  showPeriod(today, today);
  return h(
    "div",
    { "data-part": "payments" },
    h("h3", {}, t("merchant.payments")),
    actionForm({
      fields: [
        { name: "from", label: "field.from", type: "date", value: today },
        { name: "to", label: "field.to", type: "date", value: today },
      ],
      submit: "merchant.showPayments",
      run: async ({ from, to }) => showPeriod(from, to),
    }),
    results,
  );
}

function settlementsPart(franchise) {
  // Each run with this franchise's line of it.
  const runsPage = async (cursor) => {
    const page = await get("/settlement", { franchiseId: franchise.franchiseId, cursor, limit: 20 });
    const items = page.items.map((run) => ({
      run,
      line: run.lines.find((line) => line.franchiseId === franchise.franchiseId),
    }));
    return { items, nextCursor: page.nextCursor };
  };
  return h(
    "div",
    { "data-part": "settlements" },
    h("h3", {}, t("merchant.settlements")),
    h("p", { class: "help" }, t("merchant.reportHelp")),
    pagedTable(
      [
        { key: "column.period", value: ({ run }) => `${run.from} – ${run.to}` },
        { key: "column.gross", class: "amount", value: ({ line }) => won(line.gross) },
        { key: "column.fee", class: "amount", value: ({ line }) => won(line.fee) },
        { key: "column.owed", class: "amount", value: ({ line }) => won(line.owed) },
        {
          key: "column.payout",
          class: "amount",
          value: ({ line }) => h("span", { "data-payout": line.payout }, won(line.payout)),
        },
        { key: "column.status", value: ({ line }) => statusView(line.status, line.reason) },
        { key: "column.report", value: ({ run }) => reportButton(run, franchise) },
      ],
      runsPage,
      "merchant.noSettlements",
    ),
  );
}

// The columns of settlement's own report (`GET /settlement/{id}/report.csv`, for admins), for this franchise's rows.
const REPORT_COLUMNS = ["settlementId", "franchiseId", "paymentId", "price", "refunded", "fee"];
const REPORT_PAGE = 500;

// The run's payments of this franchise, as the merchant may read them: those approved in the run's period that
// the run settled.
async function franchiseReport(run, franchise) {
  const settled = [];
  let cursor = null;
  do {
    const page = await get("/payment/period", {
      ...periodInstants(run.from, run.to),
      franchiseId: franchise.franchiseId,
      cursor,
      limit: REPORT_PAGE,
    });
    settled.push(...page.items.filter((payment) => payment.settlementId === run.settlementId));
    cursor = page.nextCursor;
  } while (cursor);
  const rows = settled.map(({ paymentId, requestPrice, refundedAmount, fee }) =>
    [run.settlementId, franchise.franchiseId, paymentId, requestPrice, refundedAmount, fee].join(","),
  );
  return [REPORT_COLUMNS.join(","), ...rows].join("\n") + "\n";
}

function reportButton(run, franchise) {
  const outcome = h("span", { class: "outcome" });
  const button = h("button", { type: "button", class: "secondary", "data-report": run.settlementId }, "CSV");
  button.addEventListener("click", async () => {
    button.disabled = true;
    outcome.replaceChildren(h("span", { class: "busy muted" }, t("busy.loading")));
    try {
      const name = `settlement-${run.settlementId}-${franchise.franchiseId}.csv`;
      download(name, await franchiseReport(run, franchise), "text/csv");
      outcome.replaceChildren();
    } catch (problem) {
      outcome.replaceChildren(problemView(problem));
    } finally {
      button.disabled = false;
    }
  });
  return h("span", {}, button, " ", outcome);
}

function deliveriesPart(franchise) {
  return h(
    "div",
    { "data-part": "deliveries" },
    h("h3", {}, t("merchant.deliveries")),
    franchise.webhookUrl
      ? h("p", { class: "help" }, t("merchant.webhookTo", { url: franchise.webhookUrl }))
      : h("p", { class: "help" }, t("merchant.noWebhook")),
    pagedTable(
      [
        { key: "column.when", value: (delivery) => moment(delivery.createdAt) },
        { key: "column.event", value: (delivery) => delivery.eventType },
        { key: "column.status", value: (delivery) => statusView(delivery.status) },
        { key: "column.lastTry", value: (delivery) => lastTry(delivery) },
        { key: "column.redeliver", value: (delivery) => redeliverButton(franchise, delivery) },
      ],
      (cursor) => get(`/franchise/${franchise.franchiseId}/webhook-deliveries`, { cursor, limit: 20 }),
      "merchant.noDeliveries",
    ),
  );
}

function lastTry(delivery) {
  const attempt = delivery.attempts.at(-1);
  if (!attempt) return "";
  return `${moment(attempt.at)} · ${attempt.statusCode ?? attempt.error}`;
}

function redeliverButton(franchise, delivery) {
  const outcome = h("span", { class: "outcome" });
  const button = h("button", { type: "button", class: "secondary" }, t("merchant.redeliver"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    outcome.replaceChildren(h("span", { class: "busy muted" }, t("busy.working")));
    try {
      const again = await post(
        `/franchise/${franchise.franchiseId}/webhook-deliveries/${delivery.deliveryId}/redeliver`,
      );
      outcome.replaceChildren(statusView(again.status));
    } catch (problem) {
      outcome.replaceChildren(problemView(problem));
    } finally {
      button.disabled = false;
    }
  });
  return h("span", {}, button, " ", outcome);
}

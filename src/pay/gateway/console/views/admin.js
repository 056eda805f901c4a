// The platform's operator: settling a period, checking Conservation, and money per region as the query side
// keeps it and as aggregation computes it.

import { get, post, text, untilEnded } from "../api.js";
import { actionForm, card, download, h, problemView, statusView, table } from "../dom.js";
import { t, won } from "../i18n.js";
import { businessToday } from "../period.js";

export function adminView() {
  return [settlementCard(), reconcileCard(), regionCard()];
}

function settlementCard() {
  const today = businessToday();
  const settlement = card(
    "admin.settlement",
    h("p", { class: "help" }, t("admin.settlementHelp")),
    actionForm({
      fields: [
        { name: "from", label: "field.from", type: "date", value: today },
        { name: "to", label: "field.to", type: "date", value: today },
      ],
      submit: "admin.settle",
      busyKey: "busy.settling",
      run: async (period, key) => untilEnded(await post("/settlement/start", period, key)),
      show: settlementView,
    }),
  );
  // A line per franchise: the whole width.
  settlement.classList.add("wide");
  return settlement;
}

function settlementView(run) {
  const reportButton = h("button", { type: "button", class: "secondary" }, t("admin.report"));
  const reportOutcome = h("span", { class: "outcome" });
  reportButton.addEventListener("click", async () => {
    reportButton.disabled = true;
    try {
      const report = await text(`/settlement/${run.settlementId}/report.csv`);
      download(`settlement-${run.settlementId}.csv`, report, "text/csv");
      reportOutcome.replaceChildren();
    } catch (problem) {
      reportOutcome.replaceChildren(problemView(problem));
    } finally {
      reportButton.disabled = false;
    }
  });
  return h(
    "div",
    { "data-settlement": run.settlementId },
    h("p", { "data-outcome": run.status }, statusView(run.status), " ", h("span", { class: "id" }, run.settlementId)),
    run.lines.length === 0
      ? h("p", { class: "muted" }, t("admin.nothingToSettle"))
      : table(
          [
            { key: "column.franchiseId", value: (line) => h("span", { class: "id" }, line.franchiseId) },
            { key: "column.payments", class: "amount", value: (line) => line.paymentCount },
            { key: "column.gross", class: "amount", value: (line) => won(line.gross) },
            { key: "column.fee", class: "amount", value: (line) => won(line.fee) },
            { key: "column.owed", class: "amount", value: (line) => won(line.owed) },
            { key: "column.payout", class: "amount", value: (line) => won(line.payout) },
            { key: "column.status", value: (line) => statusView(line.status, line.reason) },
          ],
          run.lines,
        ),
    reportButton,
    reportOutcome,
  );
}

function reconcileCard() {
  return card(
    "admin.reconcile",
    h("p", { class: "help" }, t("admin.reconcileHelp")),
    actionForm({
      submit: "admin.runReconcile",
      busyKey: "busy.reconciling",
      run: () => get("/reconcile"),
      show: reconciliationView,
    }),
  );
}

function reconciliationView(found) {
  const rows = [
    ["reconcile.corporateBalance", found.corporateBalance],
    ["reconcile.openingBalance", found.corporateOpeningBalance],
    ["reconcile.corporateNet", found.corporateNet],
    ["reconcile.wallets", found.walletsTotal, { count: found.walletCount }],
    ["reconcile.payables", found.payablesTotal],
    ["reconcile.revenue", found.revenue],
    ["reconcile.owed", found.owed],
    ["reconcile.gap", found.gap],
  ];
  const problems = [
    ...found.unpairedTransfers.map((unpaired) => unpaired.explanation),
    ...found.walletsDifferingFromJournal.map((id) => t("reconcile.journalDiffers", { id })),
    ...found.failedRefunds.map((refund) =>
      t("reconcile.failedRefund", { id: refund.membershipId, amount: won(refund.amount), reason: refund.reason }),
    ),
  ];
  return h(
    "div",
    { "data-reconciliation": found.holds ? "holds" : "breaks" },
    h("p", { class: found.holds ? "holds" : "breaks" }, t(found.holds ? "reconcile.holds" : "reconcile.breaks")),
    found.atRest ? null : h("p", { class: "muted" }, t("reconcile.inFlight", { count: found.requestsInFlight })),
    table(
      [
        { key: "column.what", value: ([key, , values]) => t(key, values) },
        { key: "column.amount", class: "amount", value: ([, amount]) => won(amount) },
      ],
      rows,
    ),
    h("p", { class: "muted" }, t("reconcile.transfers", { count: found.bankTransfers })),
    problems.length ? h("ul", { class: "failed" }, problems.map((problem) => h("li", {}, problem))) : null,
  );
}

function regionCard() {
  return card(
    "admin.regions",
    h("p", { class: "help" }, t("admin.regionsHelp")),
    actionForm({
      fields: [{ name: "address", label: "field.address", value: "강남구" }],
      submit: "admin.compare",
      run: async ({ address }) => {
        const [query, aggregation, status] = await Promise.allSettled([
          get(`/money/query/get-money-sum-by-address/${encodeURIComponent(address)}`),
          post("/money/aggregation/get-money-sum-by-address", { address }),
          get("/money/query/status"),
        ]);
        return { query, aggregation, status };
      },
      show: ({ query, aggregation, status }) =>
        h(
          "div",
          { class: "side-by-side" },
          regionSide("admin.querySide", query, status.status === "fulfilled" ? status.value : null),
          regionSide("admin.aggregationSide", aggregation, null),
        ),
    }),
  );
}

function regionSide(titleKey, settled, status) {
  if (settled.status === "rejected") return h("div", {}, h("h3", {}, t(titleKey)), problemView(settled.reason));
  const region = settled.value;
  return h(
    "div",
    { "data-side": titleKey },
    h("h3", {}, t(titleKey)),
    h("div", { class: "figure", "data-money-sum": region.moneySum }, won(region.moneySum)),
    h("p", { class: "muted" }, t("admin.members", { count: region.memberCount })),
    status ? h("p", { class: "muted" }, t("admin.lag", { seconds: status.lagSeconds.toFixed(2) })) : null,
  );
}

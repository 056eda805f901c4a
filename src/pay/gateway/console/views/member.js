// A member's own money: wallet, linked bank account, charge and withdraw, sending, paying at a merchant and
// getting money back, history and the live feed.

import { Problem, currentSession, get, post, untilEnded } from "../api.js";
import { actionForm, card, h, loaded, pagedTable, statusView, table } from "../dom.js";
import { moment, t, won } from "../i18n.js";
import { notificationsCard } from "./notifications.js";
import { refundForm } from "./refund.js";

const WALLET_OPENING_TRIES = 30;
const WALLET_OPENING_WAIT_MS = 500;

// Money opens a member's wallet when it hears of the registration, a moment after sign-up: until then the
// wallet is 404, and asked again.
async function onceOpened(load) {
  for (let tries = 1; ; tries += 1) {
    try {
      return await load();
    } catch (problem) {
      if (!(problem instanceof Problem) || problem.status !== 404 || tries >= WALLET_OPENING_TRIES) throw problem;
      await new Promise((resolve) => setTimeout(resolve, WALLET_OPENING_WAIT_MS));
    }
  }
}

// Payments the member made in this session, newest first, so that they can be refunded from here.
let payments = { of: null, made: [] };

export function memberView() {
  const me = currentSession().membershipId;
  if (payments.of !== me) payments = { of: me, made: [] };
  const wallet = loaded(
    () => onceOpened(() => get(`/money/${me}`)),
    (money) =>
      h(
        "div",
        {},
        h("div", { class: "figure", "data-wallet-balance": money.balance }, won(money.balance)),
        money.heldAmount ? h("p", { class: "muted" }, t("wallet.held", { amount: won(money.heldAmount) })) : null,
      ),
  );
  const history = h("div");
  const showHistory = () =>
    history.replaceChildren(
      pagedTable(
        [
          { key: "column.when", value: (entry) => moment(entry.occurredAt) },
          { key: "column.what", value: (entry) => t(`history.${entry.kind}`) },
          { key: "column.amount", class: "amount", value: (entry) => won(entry.amount) },
          { key: "column.request", value: (entry) => h("span", { class: "id" }, entry.moneyChangingRequestId) },
        ],
        (cursor) => onceOpened(() => get(`/money/history/${me}`, { cursor, limit: 10 })),
        "history.empty",
      ),
    );
  showHistory();
  // After money moved: the balance and the history as they are now.
  const moved = () => {
    wallet.reload();
    showHistory();
  };

  return [
    card(
      "wallet.title",
      h("p", { class: "muted" }, t("wallet.yourId"), " ", h("span", { class: "id", "data-membership-id": me }, me)),
      wallet,
      h("button", { type: "button", class: "secondary", onclick: () => wallet.reload() }, t("action.reload")),
    ),
    bankCard(me),
    chargeCard(me, moved),
    sendCard(me, moved),
    payCard(me, moved),
    notificationsCard(),
    h(
      "section",
      { class: "card wide", "data-card": "history.title" },
      h("h2", {}, t("history.title")),
      history,
      h("button", { type: "button", class: "secondary", onclick: showHistory }, t("action.reload")),
    ),
  ];
}

function bankCard(me) {
  const place = loaded(
    async () => {
      try {
        return await get(`/banking/account/${me}`);
      } catch (problem) {
        if (problem instanceof Problem && problem.status === 404) return null;
        throw problem;
      }
    },
    (account, reload) => (account ? linkedAccount(me, account) : linkForm(me, reload)),
  );
  return card("bank.title", place);
}

function linkForm(me, reload) {
  return h(
    "div",
    {},
    h("p", { class: "help" }, t("bank.notLinked")),
    h("p", { class: "help" }, t("bank.simulatorHelp")),
    h(
      "p",
      { class: "help" },
      h(
        "code",
        {},
        "curl -X POST localhost:8090/bank/accounts -H 'content-type: application/json' -d '" +
          JSON.stringify({
            bankName: "KB",
            bankAccountNumber: "110-123-456789",
            holderName: currentSession().member.name,
            balance: 1000000,
          }) +
          "'",
      ),
    ),
    actionForm({
      fields: [
        { name: "bankName", label: "field.bankName", value: "KB" },
        { name: "bankAccountNumber", label: "field.bankAccountNumber" },
      ],
      submit: "bank.link",
      busyKey: "busy.askingBank",
      run: async (account) => {
        await post("/banking/account/register", { membershipId: me, ...account });
        reload();
      },
    }),
  );
}

function linkedAccount(me, account) {
  const balance = (refresh) =>
    loaded(
      () => get(`/banking/account/${me}/balance`, { refresh: refresh ? "true" : undefined }),
      (seen) =>
        h(
          "div",
          {},
          h("div", { class: "figure", "data-bank-balance": seen.balance }, won(seen.balance)),
          h(
            "p",
            { class: "muted" },
            t(seen.fresh ? "bank.fresh" : "bank.stale", { asOf: moment(seen.asOf) }),
          ),
        ),
    );
  const place = h("div", {}, balance(false));
  return h(
    "div",
    {},
    h("p", { "data-linked-account": "" }, `${account.bankName} ${account.bankAccountNumber}`),
    place,
    h(
      "button",
      { type: "button", class: "secondary", onclick: () => place.replaceChildren(balance(true)) },
      t("bank.askBank"),
    ),
  );
}

function moneyOutcome(request) {
  return h("p", { "data-outcome": request.status }, statusView(request.status, request.reason));
}

function chargeCard(me, moved) {
  const changing = (path) => async ({ amount }, key) => {
    const request = await untilEnded(await post(path, { targetMembershipId: me, amount }, key));
    moved();
    return request;
  };
  return card(
    "charge.title",
    h("h3", {}, t("charge.recharge")),
    actionForm({
      fields: [{ name: "amount", label: "field.amount", type: "amount" }],
      submit: "charge.recharge",
      busyKey: "busy.waitingForBank",
      run: changing("/money/increase"),
      show: moneyOutcome,
    }),
    h("h3", {}, t("charge.withdraw")),
    actionForm({
      fields: [{ name: "amount", label: "field.amount", type: "amount" }],
      submit: "charge.withdraw",
      busyKey: "busy.waitingForBank",
      run: changing("/money/decrease"),
      show: moneyOutcome,
    }),
  );
}

function sendCard(me, moved) {
  const remit = (body) => async (values, key) => {
    const answer = await post("/remittance/request", { fromMembershipId: me, ...body(values) }, key);
    const remittance = await untilEnded(answer);
    moved();
    return remittance;
  };
  const outcome = (remittance) =>
    h(
      "p",
      { "data-outcome": remittance.status },
      statusView(remittance.status, remittance.reason),
      remittance.rechargedAmount ? ` (${t("send.recharged", { amount: won(remittance.rechargedAmount) })})` : "",
    );
  return card(
    "send.title",
    h("p", { class: "help" }, t("send.help")),
    h("h3", {}, t("send.toMember")),
    actionForm({
      fields: [
        { name: "toMembershipId", label: "field.membershipId" },
        { name: "amount", label: "field.amount", type: "amount" },
      ],
      submit: "send.send",
      run: remit(({ toMembershipId, amount }) => ({ remittanceType: "MEMBERSHIP", toMembershipId, amount })),
      show: outcome,
    }),
    h("h3", {}, t("send.toBank")),
    actionForm({
      fields: [
        { name: "toBankName", label: "field.bankName", value: "KB" },
        { name: "toBankAccountNumber", label: "field.bankAccountNumber" },
        { name: "amount", label: "field.amount", type: "amount" },
      ],
      submit: "send.send",
      busyKey: "busy.waitingForBank",
      run: remit((values) => ({ remittanceType: "BANK", ...values })),
      show: outcome,
    }),
  );
}

function payCard(me, moved) {
  const list = h("div");
  // A refund's outcome, kept under the list, which is drawn again with the payment as it is after it.
  const refundOutcome = h("div", { class: "outcome" });
  const showPayments = () =>
    list.replaceChildren(
      payments.made.length === 0
        ? h("p", { class: "muted" }, t("pay.none"))
        : table(
            [
              { key: "column.payment", value: (payment) => h("span", { class: "id" }, payment.paymentId) },
              { key: "column.price", class: "amount", value: (payment) => won(payment.requestPrice) },
              { key: "column.refunded", class: "amount", value: (payment) => won(payment.refundedAmount) },
              { key: "column.status", value: (payment) => statusView(payment.status, payment.reason) },
              { key: "column.refund", value: (payment) => refundForm(payment, refunded(payment)) },
            ],
            payments.made,
          ),
    );
  const refunded = (payment) => async (refund) => {
    Object.assign(payment, await get(`/payment/${payment.paymentId}`));
    refundOutcome.replaceChildren(h("p", { "data-outcome": refund.status }, statusView(refund.status, refund.reason)));
    showPayments();
    moved();
  };
  showPayments();
  return card(
    "pay.title",
    h("p", { class: "help" }, t("pay.help")),
    actionForm({
      fields: [
        { name: "franchiseId", label: "field.franchiseId" },
        { name: "requestPrice", label: "field.price", type: "amount" },
        {
          name: "method",
          label: "field.method",
          type: "select",
          options: [
            { value: "WALLET", label: "pay.wallet" },
            { value: "BANK", label: "pay.bank" },
          ],
        },
      ],
      submit: "pay.pay",
      run: async (values, key) => {
        const payment = await untilEnded(await post("/payment/request", { requestMembershipId: me, ...values }, key));
        payments.made.unshift(payment);
        showPayments();
        moved();
        return payment;
      },
      show: (payment) =>
        h(
          "p",
          { "data-outcome": payment.status },
          statusView(payment.status, payment.reason),
          ` — ${t("pay.fee", { fee: won(payment.fee), rate: payment.feeRate })}`,
        ),
    }),
    list,
    refundOutcome,
  );
}

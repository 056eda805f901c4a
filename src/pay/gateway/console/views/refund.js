// Refunding a payment, in part or whole, as its payer or its merchant may.

import { post, untilEnded } from "../api.js";
import { actionForm, h, statusView } from "../dom.js";

// A payment being settled is refundable a moment later: payment refuses it meanwhile and says so.
const REFUNDABLE = new Set(["APPROVED", "SETTLING", "SETTLED"]);

// The refund form of one payment, or nothing when nothing is left to refund; `refunded(refund)` once one ended.
export function refundForm(payment, refunded = async () => {}) {
  if (!REFUNDABLE.has(payment.status)) return "";
  return actionForm({
    fields: [{ name: "amount", label: "field.refundAmount", type: "amount", required: false }],
    submit: "pay.refund",
    run: async ({ amount }, key) => {
      const answer = await post(`/payment/${payment.paymentId}/cancel`, amount === "" ? {} : { amount }, key);
      const refund = await untilEnded(answer);
      await refunded(refund);
      return refund;
    },
    show: (refund) => h("span", { "data-outcome": refund.status }, statusView(refund.status, refund.reason)),
  });
}

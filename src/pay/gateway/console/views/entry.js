// Before a session: log in, or sign up (as a person, or as a corporate member who runs franchises).

import { logIn, post } from "../api.js";
import { actionForm, card, h } from "../dom.js";
import { t } from "../i18n.js";

// `entered()` once a session has begun.
export function entryView({ notice, entered }) {
  const login = actionForm({
    fields: [
      { name: "email", label: "field.email", type: "email" },
      { name: "password", label: "field.password", type: "password" },
    ],
    submit: "session.login",
    busyKey: "busy.loggingIn",
    run: async ({ email, password }) => {
      await logIn(email, password);
      entered();
    },
  });
  const signup = actionForm({
    fields: [
      { name: "name", label: "field.name" },
      { name: "email", label: "field.email", type: "email" },
      { name: "address", label: "field.address", value: "강남구" },
      { name: "password", label: "field.password", type: "password" },
      { name: "isCorp", label: "field.isCorp", type: "checkbox", value: false, required: false },
    ],
    submit: "session.signup",
    busyKey: "busy.signingUp",
    run: async (member) => {
      await post("/membership/register", member);
      await logIn(member.email, member.password);
      entered();
    },
  });
  return [
    card(
      "session.loginTitle",
      notice ? h("p", { class: "problem", role: "alert" }, t(notice)) : null,
      login,
      h("p", { class: "help" }, t("session.adminHint")),
    ),
    card("session.signupTitle", h("p", { class: "help" }, t("session.signupHelp")), signup),
  ];
}

// The platform's API as the console calls it, through the gateway (same origin): JSON in and out, errors as
// `Problem`s read from problem+json, and the member's session.
//
// The session's tokens live in this module's memory only (never in storage a script of another page could
// read): the access token is renewed by rotation before it expires, or once when a call answers 401; if that
// fails the session ends and the console asks to log in again.

export class Problem extends Error {
  constructor(status, title, detail = "", code = "") {
    super(title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.code = code;
  }
}

let session = null;
let refreshTimer = null;
let refreshing = null;
const endedListeners = [];

export function currentSession() {
  return session;
}

// `listener(reason)` is called when the session ends: "logout" or "expired".
export function onSessionEnded(listener) {
  endedListeners.push(listener);
}

// A new Idempotency-Key: one per user action, kept by the caller while the same action is retried.
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export async function logIn(email, password) {
  const tokens = await send("POST", "/membership/login", { body: { email, password }, anonymous: true });
  begin(tokens);
  try {
    session.member = await get("/membership/me");
  } catch (problem) {
    end("logout");
    throw problem;
  }
  return session;
}

export async function logOut() {
  const refreshToken = session?.refreshToken;
  end("logout");
  if (refreshToken) await send("POST", "/membership/logout", { body: { refreshToken }, anonymous: true });
}

export function get(path, query = {}) {
  return send("GET", path, { query });
}

export function post(path, body = {}, idempotencyKey = undefined) {
  return send("POST", path, { body, idempotencyKey });
}

// The text of a CSV (or other non-JSON) answer.
export function text(path) {
  return send("GET", path, { accept: "text/csv" });
}

const PENDING = new Set(["REQUESTED", "RUNNING"]);
const POLL_MS = 500;
const POLL_LIMIT_MS = 120_000;

// A long operation's outcome: the answer itself once it has ended, else its `statusUrl` polled until it has.
export async function untilEnded(answer) {
  const deadline = Date.now() + POLL_LIMIT_MS;
  let current = answer;
  while (PENDING.has(current.status) && current.statusUrl && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    current = await get(current.statusUrl);
  }
  return current;
}

function begin(tokens) {
  session = {
    membershipId: tokens.membershipId,
    accessToken: tokens.jwtToken,
    refreshToken: tokens.refreshToken,
    role: roleOf(tokens.jwtToken),
    member: session?.member ?? null,
  };
  clearTimeout(refreshTimer);
  // Renewed at four fifths of its life, so a call seldom meets an expired token.
  refreshTimer = setTimeout(() => refresh().catch(() => {}), tokens.expiresIn * 800);
}

function end(reason) {
  if (!session) return;
  session = null;
  clearTimeout(refreshTimer);
  for (const listener of endedListeners) listener(reason);
}

// The role the access token carries (`member`, `admin`); the services check it, the console only chooses
// which views to offer.
function roleOf(jwt) {
  const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload)).role;
}

// One renewal at a time: a refresh token is good once, and presenting it twice would end the session.
function refresh() {
  if (!refreshing) {
    const presented = session?.refreshToken;
    refreshing = send("POST", "/membership/refresh-token", { body: { refreshToken: presented }, anonymous: true })
      .then((tokens) => {
        if (session?.refreshToken === presented) begin(tokens);
      })
      .catch((problem) => {
        end("expired");
        throw problem;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

async function send(method, path, { query = {}, body, idempotencyKey, anonymous = false, accept, retried = false }) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: accept ?? "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const token = anonymous ? null : session?.accessToken;
  if (token) headers.Authorization = `Bearer ${token}`;
  let answer;
  try {
    answer = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new Problem(0, "The platform does not answer", String(error.message ?? error), "network");
  }
  if (answer.status === 401 && token && !retried) {
    await refresh();
    return send(method, path, { query, body, idempotencyKey, accept, retried: true });
  }
  if (answer.status === 401 && token) end("expired");
  if (!answer.ok) throw await problemOf(answer);
  if (answer.status === 204) return null;
  const type = answer.headers.get("content-type") ?? "";
  return type.includes("json") ? answer.json() : answer.text();
}

async function problemOf(answer) {
  const type = answer.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    const problem = await answer.json();
    return new Problem(answer.status, problem.title ?? answer.statusText, problem.detail ?? "", problem.code ?? "");
  }
  return new Problem(answer.status, answer.statusText || `HTTP ${answer.status}`);
}

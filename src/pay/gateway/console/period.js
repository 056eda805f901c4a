// Business days as the platform counts them: in Asia/Seoul, the default `PAY_BUSINESS_TIMEZONE` (a platform
// run with another one would need it here too).

const BUSINESS_TIME_ZONE = "Asia/Seoul";

// Today in the business time zone, as YYYY-MM-DD.
export function businessToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: BUSINESS_TIME_ZONE }).format(new Date());
}

// The instants a period of whole days (inclusive) covers: from the first day's start to the day after the
// last, in the business time zone (which keeps no daylight saving time).
export function periodInstants(from, to) {
  const start = new Date(`${from}T00:00:00+09:00`);
  const end = new Date(`${to}T00:00:00+09:00`);
  end.setUTCDate(end.getUTCDate() + 1);
  return { from: start.toISOString(), to: end.toISOString() };
}

// Every default of the options the commands share, written once: the option resolvers, the flags' help, the
// submission lane and the Snyk client all read them from here.

/** Snyk's API; regional hosts are https://api.us.snyk.io, https://api.eu.snyk.io, https://api.au.snyk.io. */
export const DEFAULT_SNYK_API = 'https://api.snyk.io'

export const defaults = {
  /** Snyk requests in flight at once, per token (--concurrency). */
  concurrency: 5,
  /** Snyk requests per minute, per token (--rate). Snyk allows 2,000 (v1) and 1,620 (REST) a minute: stay well under. */
  ratePerMinute: 600,
  /** Retries of a failing Snyk request (--max-retries). */
  maxRetries: 5,
  /** An image imported this long ago is imported again (--resubmit-after). */
  resubmitAfterMs: 24 * 3_600_000,
  /** How long `sync --wait` waits for an import job (--wait-timeout). */
  waitTimeoutMs: 10 * 60_000,
  /** `watch`: a failed or skipped image is tried again after this long (--retry-after). */
  retryAfterMs: 15 * 60_000,
  /** `watch`: how long in-flight imports may take to finish on SIGTERM (--shutdown-timeout). */
  shutdownTimeoutMs: 20_000,
  /** `watch`: how long a leader that stops renewing keeps the lease (--leader-elect-lease-duration). */
  leaseDurationMs: 15_000,
  /** `watch`: how long it follows an import job before it records the image as timed out (no flag). */
  watchJobWaitMs: 30 * 60_000,
  /** Placements not seen for this long are forgotten (--forget-after): clusters gone, pods long deleted. */
  forgetAfterMs: 7 * 24 * 3_600_000,
  /** `status --watch`: how often the store is looked at (--interval). */
  statusIntervalMs: 1_000,
} as const

/** A default duration as the flags' help writes it: 24h, 10m, 20s, 1s. */
export function durationText(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}

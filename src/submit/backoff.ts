// Exponential backoff with jitter, with p-retry's own semantics for `factor`, `minTimeout`, `maxTimeout` and
// `randomize` (the delay before retry n is `minTimeout * factor^(n-1)`, times a random factor in [1, 2)
// when randomized, capped at `maxTimeout`). Computed here rather than inside p-retry so the `retrying`
// event can say the real delay and tests can inject the randomness. The one backoff formula of the
// project: Snyk submissions (submission-core.ts) and Kubernetes API retries (src/kube/retry-policy.ts, for
// sync's pod listing and watch's reconnects) both compute their delays here.

export interface BackoffOptions {
  /** Growth per retry (default 2). */
  readonly factor?: number
  /** Delay before the first retry (default 1000 ms). */
  readonly minTimeoutMs?: number
  /** Longest delay (default 60000 ms). */
  readonly maxTimeoutMs?: number
  /** Multiply each delay by a random factor in [1, 2) (default true). */
  readonly randomize?: boolean
}

export type ResolvedBackoff = Required<BackoffOptions>

export function resolveBackoff(options: BackoffOptions = {}): ResolvedBackoff {
  const resolved = {factor: 2, minTimeoutMs: 1000, maxTimeoutMs: 60_000, randomize: true, ...options}
  if (!(resolved.factor >= 1)) throw new RangeError('backoff factor must be >= 1')
  if (!(resolved.minTimeoutMs >= 0) || !(resolved.maxTimeoutMs >= resolved.minTimeoutMs)) throw new RangeError('backoff needs 0 <= minTimeoutMs <= maxTimeoutMs')
  return resolved
}

/** Delay before the retry that follows `retriesConsumed` earlier retries (0 for the first retry). */
export function backoffDelay(retriesConsumed: number, options: ResolvedBackoff, random: () => number = Math.random): number {
  const jitter = options.randomize ? 1 + random() : 1
  const delay = jitter * options.minTimeoutMs * options.factor ** Math.max(0, retriesConsumed)
  return Math.round(Math.min(options.maxTimeoutMs, delay))
}

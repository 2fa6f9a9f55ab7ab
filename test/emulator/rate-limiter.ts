/**
 * Snyk's documented rate limit: a number of requests per token in a fixed window (v1: 2,000 per minute;
 * REST: 1,620 per minute per API key). Over the limit every request is answered 429 until the window
 * passes. Snyk does not document `Retry-After` for these endpoints, so sending it is a setting.
 */

export interface RateLimitSettings {
  /** Requests allowed per token in one window (default 2000). */
  readonly requests: number
  /** Window length in ms (default 60000). */
  readonly windowMs: number
  /** Send `Retry-After` (seconds until the window ends) with 429 answers (default false, as Snyk documents none). */
  readonly retryAfter?: boolean
}

export const DEFAULT_RATE_LIMIT: RateLimitSettings = {requests: 2000, windowMs: 60_000, retryAfter: false}

export type RateDecision = {readonly allowed: true} | {readonly allowed: false; readonly retryAfterSeconds?: number}

interface Window {
  startedAt: number
  count: number
}

export class RateLimiter {
  #settings: RateLimitSettings
  readonly #windows = new Map<string, Window>()
  readonly #now: () => number

  constructor(settings: RateLimitSettings = DEFAULT_RATE_LIMIT, now: () => number = () => performance.now()) {
    this.#settings = checked(settings)
    this.#now = now
  }

  get settings(): RateLimitSettings {
    return this.#settings
  }

  /** New settings; every token starts a fresh window. */
  configure(settings: RateLimitSettings): void {
    this.#settings = checked(settings)
    this.#windows.clear()
  }

  /** Counts one request of `key` (a token) and says whether it is allowed. */
  admit(key: string): RateDecision {
    const now = this.#now()
    let window = this.#windows.get(key)
    if (!window || now - window.startedAt >= this.#settings.windowMs) {
      window = {startedAt: now, count: 0}
      this.#windows.set(key, window)
    }
    window.count += 1
    if (window.count <= this.#settings.requests) return {allowed: true}
    if (!this.#settings.retryAfter) return {allowed: false}
    return {allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.startedAt + this.#settings.windowMs - now) / 1000))}
  }
}

function checked(settings: RateLimitSettings): RateLimitSettings {
  if (!Number.isInteger(settings.requests) || settings.requests < 0) throw new RangeError('rate limit: requests must be an integer >= 0')
  if (!(settings.windowMs > 0)) throw new RangeError('rate limit: windowMs must be > 0')
  return {retryAfter: false, ...settings}
}

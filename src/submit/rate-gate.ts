// When the next request to Snyk may go: the rate (one request every `minuteMs / rate`), the 429 pause that
// holds back every worker of the token, and the adaptive rate that converges to what Snyk allows.
//
// Pacing. Each request takes the next free time slot (`nextSlot`, then `nextSlot += interval`) and waits
// for it. Slots are absolute, so timer lateness does not accumulate (bottleneck's `minTime` spaces jobs from
// the previous start and loses a little on every job). When requests come later than their slot (every
// worker was busy waiting for answers, or the event loop was), a lag of up to `catchUpMs` (one second) is
// made up by sending the missed slots at once; a longer gap counts as idle and earns nothing, so there is no
// burst after an idle period. This is bottleneck's `minTime` done as virtual scheduling: it never uses
// reservoir intervals, so changing the rate at run time is safe.
//
// 429 pause. Snyk limits each token to a number of requests per one-minute window and answers 429 until
// the window passes; it documents no `Retry-After`. A 429 pauses the gate: no slot is given before
// `pausedUntil`, and slots after it are spaced again, so resuming is not a burst. The pause lasts
// - `Retry-After`, when the answer has one;
// - else, for the first 429 after accepted requests, until the end of the window we observed (our shadow
//   of Snyk's window: it starts with the first request after a pause and lasts `minuteMs`) plus a margin;
// - else (a 429 again right after a pause: our idea of the window was wrong) an exponential probe wait,
//   `minuteMs / 16` doubling up to `minuteMs`, with jitter.
// A 429 for a request sent before the latest pause began is stale (it is part of the same burst) and
// changes nothing.
//
// Adaptive rate. On a fresh 429 the rate drops to what Snyk accepted in the observed window, times 0.95,
// and at least by 10%, but at most to a quarter in one step (`max(rate / 4, min(accepted * 0.95,
// rate * 0.9))`, never below `minRate`; the accepted count is the limit only when Snyk's window began with
// ours): a --rate up to 4x above Snyk's limit costs one pause and then runs just under the limit. After `recoverAfterMs` without a fresh 429 the rate
// climbs back by 10% of the configured rate per period, up to the configured rate, so a temporary squeeze
// (another client on the same token) does not slow the rest of a long `watch` forever.
import {EventEmitter} from 'node:events'
import {systemClock} from './clock.ts'
import type {Clock} from './clock.ts'

export interface RateGateOptions {
  /** Requests per `minuteMs` (the --rate). */
  readonly ratePerMinute: number
  /** Length of Snyk's rate-limit window: one minute (60000). Benchmarks shrink it to scale time. */
  readonly minuteMs?: number
  /** A lag behind the schedule up to this long is made up (default minuteMs / 60: one second). */
  readonly catchUpMs?: number
  /** Lowest adaptive rate (default 1 per minute). */
  readonly minRatePerMinute?: number
  /** Added to a pause that waits for the end of the window (default max(100 ms, minuteMs / 50)). */
  readonly windowMarginMs?: number
  /** Time without a fresh 429 after which the rate climbs again (default 2 minutes). */
  readonly recoverAfterMs?: number
  readonly clock?: Clock
  /** [0, 1), for the jitter of probe waits (default Math.random). */
  readonly random?: () => number
}

export interface PausedEvent {
  /** Clock time (ms) when sending may resume. */
  readonly until: number
  readonly durationMs: number
  /** `retry-after` (Snyk said how long), `window` (until the observed window ends), `probe` (backing off). */
  readonly reason: 'retry-after' | 'window' | 'probe'
}

export interface RateChangedEvent {
  readonly ratePerMinute: number
  readonly previousRatePerMinute: number
  readonly reason: 'rate-limited' | 'recovering' | 'reconfigured'
}

export type RateGateEvents = {
  paused: [PausedEvent]
  resumed: [{pausedMs: number}]
  'rate-changed': [RateChangedEvent]
}

export interface RateLimitedInput {
  /** Clock time at which the rate-limited request was sent (from `acquire`). */
  readonly sentAt: number
  readonly retryAfterMs?: number | undefined
}

export class RateGate extends EventEmitter<RateGateEvents> {
  #configured: number
  readonly minuteMs: number
  readonly #minRate: number
  readonly #margin: number
  readonly #catchUpMs: number
  readonly #recoverAfterMs: number
  readonly #clock: Clock
  readonly #random: () => number
  #rate: number
  #nextSlot = -Infinity
  #pausedUntil = -Infinity
  #pauseStartedAt = -Infinity
  #pauseAnnounced = false
  /** Fresh 429s since the last accepted request sent after a pause. */
  #consecutive = 0
  #acceptedSincePause = false
  #lastRateLimitAt = -Infinity
  #lastRecoveryAt = -Infinity
  /** Our shadow of Snyk's window: starts at the first request after a pause (or after it expired). */
  #windowStart = -Infinity
  #acceptedInWindow = 0

  constructor(options: RateGateOptions) {
    super()
    if (!(options.ratePerMinute > 0) || !Number.isFinite(options.ratePerMinute)) throw new RangeError('rate must be a number > 0 (requests per minute)')
    this.#configured = options.ratePerMinute
    this.minuteMs = options.minuteMs ?? 60_000
    if (!(this.minuteMs > 0)) throw new RangeError('minuteMs must be > 0')
    this.#minRate = Math.min(options.ratePerMinute, options.minRatePerMinute ?? 1)
    this.#margin = options.windowMarginMs ?? Math.max(100, this.minuteMs / 50)
    this.#catchUpMs = options.catchUpMs ?? this.minuteMs / 60
    this.#recoverAfterMs = options.recoverAfterMs ?? 2 * this.minuteMs
    this.#clock = options.clock ?? systemClock
    this.#random = options.random ?? Math.random
    this.#rate = options.ratePerMinute
  }

  /** The rate asked for (--rate), requests per minute. */
  get configuredRatePerMinute(): number {
    return this.#configured
  }

  /** A new --rate (watch's SIGHUP): applies from the next slot; a rate lowered by 429s stays below it and recovers towards it. */
  setConfiguredRate(ratePerMinute: number): void {
    if (!(ratePerMinute > 0) || !Number.isFinite(ratePerMinute)) throw new RangeError('rate must be a number > 0 (requests per minute)')
    const previous = this.#rate
    this.#rate = this.#rate < this.#configured ? Math.min(this.#rate, ratePerMinute) : ratePerMinute
    this.#configured = ratePerMinute
    if (this.#rate !== previous) this.emit('rate-changed', {ratePerMinute: this.#rate, previousRatePerMinute: previous, reason: 'reconfigured'})
  }

  /** The current (possibly lowered) rate, requests per minute. */
  get ratePerMinute(): number {
    return this.#rate
  }

  get pausedUntil(): number | undefined {
    return this.#pausedUntil > this.#clock.now() ? this.#pausedUntil : undefined
  }

  get #interval(): number {
    return this.minuteMs / this.#rate
  }

  /**
   * Waits for this request's slot: after any pause, one interval after the previous slot. Resolves with the
   * clock time it was granted at (pass it back as `sentAt`); rejects with `signal.reason` on abort.
   */
  async acquire(signal: AbortSignal): Promise<number> {
    for (;;) {
      signal.throwIfAborted()
      const now = this.#clock.now()
      // behind schedule by more than catchUpMs: idle, start afresh from now
      const scheduled = now - this.#nextSlot > this.#catchUpMs ? now : this.#nextSlot
      const slot = Math.max(scheduled, this.#pausedUntil)
      this.#nextSlot = slot + this.#interval
      if (slot > now) await this.#clock.sleep(slot - now, signal)
      const granted = this.#clock.now()
      // A pause that began while we waited for the slot moves us behind it.
      if (granted < this.#pausedUntil) continue
      this.#onGranted(granted)
      return granted
    }
  }

  /** A request sent at `sentAt` got an answer that is not a 429 (Snyk counted and accepted it). */
  onAccepted(sentAt: number): void {
    if (sentAt >= this.#pauseStartedAt) {
      this.#acceptedSincePause = true
      this.#consecutive = 0
    }
    if (sentAt >= this.#windowStart) this.#acceptedInWindow += 1
    this.#maybeRecover()
  }

  /** A request sent at `sentAt` got a 429. Pauses the gate unless the 429 is stale; returns the pause end. */
  onRateLimited(input: RateLimitedInput): number {
    const now = this.#clock.now()
    if (input.sentAt < this.#pauseStartedAt) return Math.max(this.#pausedUntil, now)
    this.#consecutive = this.#acceptedSincePause ? 1 : this.#consecutive + 1
    let durationMs: number
    let reason: PausedEvent['reason']
    if (input.retryAfterMs !== undefined) {
      durationMs = input.retryAfterMs
      reason = 'retry-after'
    } else if (this.#consecutive === 1 && Number.isFinite(this.#windowStart)) {
      durationMs = Math.min(this.minuteMs, Math.max(0, this.#windowStart + this.minuteMs - now)) + this.#margin
      reason = 'window'
    } else {
      const base = (this.minuteMs / 16) * 2 ** Math.max(0, this.#consecutive - 2)
      durationMs = Math.min(this.minuteMs, base) * (0.75 + 0.5 * this.#random())
      reason = 'probe'
    }
    this.#lowerRate()
    const until = now + durationMs
    this.#pausedUntil = Math.max(this.#pausedUntil, until)
    this.#nextSlot = Math.max(this.#nextSlot, this.#pausedUntil)
    this.#pauseStartedAt = now
    this.#acceptedSincePause = false
    this.#lastRateLimitAt = now
    this.#windowStart = -Infinity
    this.#acceptedInWindow = 0
    this.#pauseAnnounced = true
    this.emit('paused', {until: this.#pausedUntil, durationMs: this.#pausedUntil - now, reason})
    return this.#pausedUntil
  }

  #onGranted(now: number): void {
    if (this.#pauseAnnounced) {
      this.#pauseAnnounced = false
      this.emit('resumed', {pausedMs: now - this.#pauseStartedAt})
    }
    if (now >= this.#windowStart + this.minuteMs) {
      this.#windowStart = now
      this.#acceptedInWindow = 0
    }
  }

  #lowerRate(): void {
    const previous = this.#rate
    // What Snyk accepted in the observed window is the limit only if Snyk's window began with ours (the
    // quota may have been partly used by someone else): never drop below a quarter in one step.
    const observed = this.#acceptedInWindow > 0 ? this.#acceptedInWindow * 0.95 : Infinity
    const next = Math.max(this.#minRate, previous * 0.25, Math.min(observed, previous * 0.9))
    if (next < previous) {
      this.#rate = next
      this.#lastRecoveryAt = this.#clock.now()
      this.emit('rate-changed', {ratePerMinute: next, previousRatePerMinute: previous, reason: 'rate-limited'})
    }
  }

  #maybeRecover(): void {
    if (this.#rate >= this.#configured) return
    const now = this.#clock.now()
    if (now - this.#lastRateLimitAt < this.#recoverAfterMs || now - this.#lastRecoveryAt < this.#recoverAfterMs) return
    const previous = this.#rate
    this.#rate = Math.min(this.#configured, previous + this.#configured * 0.1)
    this.#lastRecoveryAt = now
    this.emit('rate-changed', {ratePerMinute: this.#rate, previousRatePerMinute: previous, reason: 'recovering'})
  }
}

// Stops hammering a Snyk API that keeps failing.
//
// closed --(failureThreshold consecutive retryable failures)--> open
// open --(cool-down elapsed; the next caller becomes the probe)--> half-open
// half-open --(probe answered)--> closed        (cool-down back to cooldownMs)
// half-open --(probe failed)----> open          (cool-down doubled, up to maxCooldownMs)
//
// Failures are what retrying is for: 5xx, network errors, timeouts, unusable bodies. A 429 is flow control
// (handled by the RateGate) and counts neither way; any other answer (2xx, 400, 404, ...) proves the API
// works and counts as a success. While the breaker is open nobody sends: `admit` throws CircuitOpenError
// (retryable, `retryAfterMs` = time left in the cool-down) and the caller waits for the cool-down outside
// the limiter. While the probe is in flight other callers wait for its outcome inside `admit`, then go
// (closed) or get CircuitOpenError (open again). A failure that arrives while open (a request sent before it
// opened) changes nothing; a success from any request closes the breaker.
//
// Each CircuitOpenError costs the waiting call one retry of its budget, so calls fail (rather than wait
// forever) when the API stays down for about `maxRetries` cool-downs.
import {EventEmitter} from 'node:events'
import {SnykWatchError, ExitCode} from '../errors.ts'
import {systemClock} from './clock.ts'
import type {Clock} from './clock.ts'

export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitBreakerOptions {
  /** Consecutive retryable failures that open the breaker (default 5). */
  readonly failureThreshold?: number
  /** First cool-down (default 10 s). */
  readonly cooldownMs?: number
  /** Longest cool-down, reached by doubling after failed probes (default 2 min). */
  readonly maxCooldownMs?: number
  readonly clock?: Clock
}

export type CircuitBreakerEvents = {
  open: [{until: number; cooldownMs: number; consecutiveFailures: number}]
  'half-open': []
  closed: []
}

/** The API keeps failing; wait `retryAfterMs` before trying again. */
export class CircuitOpenError extends SnykWatchError {
  readonly retryAfterMs: number
  readonly retryable = true

  constructor(retryAfterMs: number) {
    super(`Snyk keeps failing: not sending for ${Math.ceil(retryAfterMs / 1000)} s`, {
      code: 'SNYK_CIRCUIT_OPEN',
      exitCode: ExitCode.partialFailure,
      suggestions: ['Snyk or the network path to it is failing; check https://status.snyk.io and your proxy settings.'],
    })
    this.name = 'CircuitOpenError'
    this.retryAfterMs = retryAfterMs
  }
}

/** Leave to send one request; report how it went exactly once. */
export interface CircuitPermit {
  readonly probe: boolean
  /** The API answered (anything but a retryable failure or a 429). */
  succeeded(): void
  /** A retryable failure: 5xx, network error, timeout, unusable body. */
  failed(): void
  /** Neither (429, aborted, not sent). */
  release(): void
}

export class CircuitBreaker extends EventEmitter<CircuitBreakerEvents> {
  readonly failureThreshold: number
  readonly #baseCooldown: number
  readonly #maxCooldown: number
  readonly #clock: Clock
  #state: CircuitState = 'closed'
  #failures = 0
  #cooldown: number
  #openUntil = 0
  #probeInFlight = false
  /** Settles when the probe in flight reports; waiters then look again. */
  #probeDone: Promise<void> = Promise.resolve()
  #settleProbe: () => void = () => {}

  constructor(options: CircuitBreakerOptions = {}) {
    super()
    this.failureThreshold = options.failureThreshold ?? 5
    this.#baseCooldown = options.cooldownMs ?? 10_000
    this.#maxCooldown = Math.max(this.#baseCooldown, options.maxCooldownMs ?? 120_000)
    this.#clock = options.clock ?? systemClock
    this.#cooldown = this.#baseCooldown
    if (!(this.failureThreshold >= 1)) throw new RangeError('failureThreshold must be >= 1')
  }

  get state(): CircuitState {
    return this.#state
  }

  /** Resolves when this caller may send; throws CircuitOpenError while open, `signal.reason` on abort. */
  async admit(signal: AbortSignal): Promise<CircuitPermit> {
    for (;;) {
      signal.throwIfAborted()
      if (this.#state === 'closed') return this.#permit(false)
      const now = this.#clock.now()
      if (this.#state === 'open') {
        if (now < this.#openUntil) throw new CircuitOpenError(this.#openUntil - now)
        this.#state = 'half-open'
        this.emit('half-open')
      }
      if (!this.#probeInFlight) {
        this.#probeInFlight = true
        this.#probeDone = new Promise<void>((resolve) => (this.#settleProbe = resolve))
        return this.#permit(true)
      }
      await abortable(this.#probeDone, signal)
      if ((this.#state as CircuitState) === 'open') throw new CircuitOpenError(Math.max(0, this.#openUntil - this.#clock.now()))
    }
  }

  #permit(probe: boolean): CircuitPermit {
    let reported = false
    const once = (outcome: () => void) => () => {
      if (reported) return
      reported = true
      outcome()
      if (probe) {
        this.#probeInFlight = false
        this.#settleProbe()
      }
    }
    return {
      probe,
      succeeded: once(() => this.#onSuccess()),
      failed: once(() => this.#onFailure(probe)),
      release: once(() => {}),
    }
  }

  #onSuccess(): void {
    this.#failures = 0
    this.#cooldown = this.#baseCooldown
    if (this.#state !== 'closed') {
      this.#state = 'closed'
      this.emit('closed')
    }
  }

  #onFailure(probe: boolean): void {
    if (probe && this.#state === 'half-open') {
      this.#cooldown = Math.min(this.#maxCooldown, this.#cooldown * 2)
      this.#open()
      return
    }
    if (this.#state !== 'closed') return
    this.#failures += 1
    if (this.#failures >= this.failureThreshold) this.#open()
  }

  #open(): void {
    this.#state = 'open'
    this.#openUntil = this.#clock.now() + this.#cooldown
    this.emit('open', {until: this.#openUntil, cooldownMs: this.#cooldown, consecutiveFailures: this.#failures})
  }
}

function abortable(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, {once: true})
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

// The submission core shared by sync, watch and status: every request to Snyk goes through `run`.
//
// Retry lives here and only here:
//
//     pRetry(() => lane.limiter.schedule(() => breaker.admit + gate.acquire + send(signal)), {retries, signal, ...})
//
// - the limiter (bottleneck, one per token for the process) bounds the requests in flight (--concurrency);
// - the RateGate spaces them (--rate) and holds every worker of the token during a 429 pause;
// - the CircuitBreaker keeps everyone from sending while the API keeps failing;
// - p-retry counts attempts and stops on the run's AbortSignal. The wait before a retry is computed here
//   (exponential backoff with jitter, at least `Retry-After`) and slept in `onFailedAttempt`, outside the
//   limiter, so a waiting call holds no concurrency slot; p-retry's own delay is set to 0.
//
// Outcomes by answer:
// - 2xx: success.
// - 429: the gate pauses every worker (Retry-After, else adaptively) and lowers the rate; the call tries
//   again when the pause ends. Rate-limited attempts do not use the retry budget (up to
//   `maxRateLimitedRetries` of them per call): they are flow control, not failures.
// - 5xx, 408, network errors, timeouts, unusable bodies: retried with backoff, `maxRetries` times; they
//   count towards opening the circuit breaker.
// - 400, 404 and other 4xx: the call fails at once (one request).
// - 401, 403: AuthError. The run stops: its signal is aborted with the AuthError, so every call waiting or in
//   flight rejects with it and no further request is sent. A 401 also marks the token rejected for every
//   core of the process that uses it.
import {EventEmitter} from 'node:events'
import pRetry, {AbortError as StopRetrying} from 'p-retry'
import type {RetryContext} from 'p-retry'
import type {AuthError} from '../errors.ts'
import {authErrorFrom, SnykHttpError} from '../snyk/snyk-http-error.ts'
import {backoffDelay, resolveBackoff} from './backoff.ts'
import type {BackoffOptions, ResolvedBackoff} from './backoff.ts'
import {CircuitOpenError} from './circuit-breaker.ts'
import type {CircuitBreakerEvents} from './circuit-breaker.ts'
import {systemClock} from './clock.ts'
import type {Clock} from './clock.ts'
import {processLimiters} from './limiter-registry.ts'
import type {LaneSettings, LimiterRegistry, SubmissionLane} from './limiter-registry.ts'
import type {PausedEvent, RateChangedEvent, RateGateEvents} from './rate-gate.ts'

export const DEFAULT_MAX_RETRIES = 5
export const DEFAULT_MAX_RATE_LIMITED_RETRIES = 30

export interface SubmissionCoreOptions extends LaneSettings {
  /** The Snyk token: selects the process-wide lane (limiter, gate, breaker) of this token. */
  readonly token: string
  /** The command's signal (SIGINT/SIGTERM, --timeout): aborting it cancels every waiting and in-flight call. */
  readonly signal?: AbortSignal
  /** Retries of a call after retryable failures (--max-retries, default 5). */
  readonly maxRetries?: number
  /** 429s a call may meet without using its retry budget (default 30). */
  readonly maxRateLimitedRetries?: number
  readonly backoff?: BackoffOptions
  /** The org, for the message of a 403. */
  readonly orgId?: string
  /** Default: the process-wide registry. */
  readonly registry?: LimiterRegistry
}

export interface RunOptions {
  /** Cancels this call only (e.g. a deadline); the run's own signal always applies too. */
  readonly signal?: AbortSignal
}

export interface SentEvent {
  readonly label: string
  readonly attempt: number
}
export interface SucceededEvent {
  readonly label: string
  readonly attempts: number
  readonly elapsedMs: number
}
export interface RetryingEvent {
  readonly label: string
  /** The attempt that failed (1 = the first). */
  readonly attempt: number
  /** For people: `429 rate limited`, `503 Service Unavailable`, `timeout`, `circuit open`, ... */
  readonly reason: string
  /** Time until the next attempt may be sent. */
  readonly delayMs: number
  readonly error: Error
}
export interface FailedEvent {
  readonly label: string
  readonly attempts: number
  readonly error: unknown
  /** The run was stopped (signal, or authentication) rather than this call failing on its own. */
  readonly aborted: boolean
}

export type SubmissionEvents = {
  sent: [SentEvent]
  succeeded: [SucceededEvent]
  retrying: [RetryingEvent]
  failed: [FailedEvent]
  paused: [PausedEvent]
  resumed: [{pausedMs: number}]
  'rate-changed': [RateChangedEvent]
  'circuit-open': CircuitBreakerEvents['open']
  'circuit-closed': []
  /** The run stopped because Snyk refused the token or the org. */
  stopped: [AuthError]
}

export interface SubmissionStats {
  sent: number
  succeeded: number
  failed: number
  retried: number
  rateLimited: number
}

/** What `run` needs from the core; the import waiter and the client's pagination take this. */
export interface RequestScheduler {
  run<T>(label: string, send: (signal: AbortSignal) => Promise<T>, options?: RunOptions): Promise<T>
}

export class SubmissionCore extends EventEmitter<SubmissionEvents> implements RequestScheduler {
  /** Aborted when the command's signal aborts or the run stops on an authentication error. */
  readonly signal: AbortSignal
  readonly lane: SubmissionLane
  readonly maxRetries: number
  readonly stats: Readonly<SubmissionStats>
  readonly #counters: SubmissionStats = {sent: 0, succeeded: 0, failed: 0, retried: 0, rateLimited: 0}
  readonly #controller = new AbortController()
  readonly #maxRateLimited: number
  readonly #backoff: ResolvedBackoff
  readonly #clock: Clock
  readonly #random: () => number
  readonly #orgId: string | undefined
  readonly #detach: Array<() => void> = []

  constructor(options: SubmissionCoreOptions) {
    super()
    this.lane = (options.registry ?? processLimiters).lane(options.token, options)
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES
    if (!Number.isInteger(this.maxRetries) || this.maxRetries < 0) throw new RangeError('maxRetries must be an integer >= 0')
    this.#maxRateLimited = options.maxRateLimitedRetries ?? DEFAULT_MAX_RATE_LIMITED_RETRIES
    this.#backoff = resolveBackoff(options.backoff)
    this.#clock = options.clock ?? systemClock
    this.#random = options.random ?? Math.random
    this.#orgId = options.orgId
    this.stats = this.#counters
    this.signal = options.signal ? AbortSignal.any([options.signal, this.#controller.signal]) : this.#controller.signal

    const rejected = this.lane.tokenRejection
    if (rejected) this.#controller.abort(rejected)
    this.#detach.push(this.lane.onTokenRejected((error) => this.#stop(error)))
    this.#forward(this.lane.gate, 'paused', 'paused')
    this.#forward(this.lane.gate, 'resumed', 'resumed')
    this.#forward(this.lane.gate, 'rate-changed', 'rate-changed')
    this.#forward(this.lane.breaker, 'open', 'circuit-open')
    this.#forward(this.lane.breaker, 'closed', 'circuit-closed')
  }

  /**
   * Sends one request through the token's limiter, with retries. `send` gets the signal to pass to the
   * client; it is called once per attempt. Rejects with the SnykHttpError of a failed call, an AuthError
   * when the run stopped, or the abort reason.
   */
  async run<T>(label: string, send: (signal: AbortSignal) => Promise<T>, options: RunOptions = {}): Promise<T> {
    const signal = options.signal ? AbortSignal.any([this.signal, options.signal]) : this.signal
    const started = this.#clock.now()
    let attempts = 0
    let rateLimited = 0
    let sentAt = -Infinity
    const attempt = async (): Promise<T> => {
      try {
        return await this.lane.limiter.schedule(() =>
          this.#attempt(label, send, signal, (at) => {
            sentAt = at
            return (attempts += 1)
          }),
        )
      } catch (error) {
        throw this.#classify(error, signal)
      }
    }
    const onFailedAttempt = async (context: RetryContext): Promise<void> => {
      const {error} = context
      if (error instanceof SnykHttpError && error.rateLimited) {
        rateLimited += 1
        this.#counters.rateLimited += 1
        const until = this.lane.gate.onRateLimited({sentAt, retryAfterMs: error.retryAfterMs})
        if (context.retriesLeft > 0) this.#retrying(label, attempts, error, Math.max(0, until - this.#clock.now()))
        return // the gate holds the next attempt until the pause ends
      }
      if (context.retriesLeft <= 0) return // p-retry gives up after this
      let delayMs: number
      if (error instanceof CircuitOpenError) {
        delayMs = error.retryAfterMs + Math.round(this.#random() * Math.min(1000, error.retryAfterMs * 0.1))
      } else {
        delayMs = backoffDelay(context.retriesConsumed, this.#backoff, this.#random)
        if (error instanceof SnykHttpError && error.retryAfterMs !== undefined) delayMs = Math.max(delayMs, error.retryAfterMs)
      }
      this.#retrying(label, attempts, error, delayMs)
      await this.#clock.sleep(delayMs, signal)
    }
    try {
      const result = await pRetry(attempt, {
        retries: this.maxRetries,
        minTimeout: 0,
        maxTimeout: 0,
        signal,
        onFailedAttempt,
        shouldConsumeRetry: ({error}) => !(error instanceof SnykHttpError && error.rateLimited && rateLimited <= this.#maxRateLimited),
      })
      this.#counters.succeeded += 1
      this.emit('succeeded', {label, attempts, elapsedMs: this.#clock.now() - started})
      return result
    } catch (error) {
      this.#counters.failed += 1
      this.emit('failed', {label, attempts, error, aborted: signal.aborted})
      throw error
    }
  }

  /** Stops forwarding the lane's events to this core (the lane lives on for other cores). */
  close(): void {
    for (const detach of this.#detach.splice(0)) detach()
  }

  /** One attempt, inside a limiter slot: wait for the breaker and the gate, then send. */
  async #attempt<T>(label: string, send: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, onSent: (sentAt: number) => number): Promise<T> {
    signal.throwIfAborted()
    const permit = await this.lane.breaker.admit(signal)
    let sentAt: number
    try {
      sentAt = await this.lane.gate.acquire(signal)
    } catch (error) {
      permit.release()
      throw error
    }
    const attempt = onSent(sentAt)
    this.#counters.sent += 1
    this.emit('sent', {label, attempt})
    try {
      const result = await send(signal)
      permit.succeeded()
      this.lane.gate.onAccepted(sentAt)
      return result
    } catch (error) {
      if (signal.aborted || !(error instanceof SnykHttpError) || error.rateLimited) {
        permit.release()
      } else {
        if (error.kind === 'http' || error.kind === 'bad-response') this.lane.gate.onAccepted(sentAt)
        if (error.retryable) permit.failed()
        else permit.succeeded()
      }
      throw error
    }
  }

  /** What p-retry should do with an attempt's error: retry it, or stop with the error to reject with. */
  #classify(error: unknown, signal: AbortSignal): Error {
    if (signal.aborted) return new StopRetrying(asError(signal.reason))
    if (error instanceof SnykHttpError) {
      if (error.authFailure) {
        const authError = authErrorFrom(error, this.#orgId)
        if (error.status === 401) this.lane.rejectToken(authError)
        this.#stop(authError)
        return new StopRetrying(authError)
      }
      return error.retryable ? error : new StopRetrying(error)
    }
    if (error instanceof CircuitOpenError) return error
    // Anything else is a bug of the caller's `send`; retrying will not fix it.
    return new StopRetrying(asError(error))
  }

  #retrying(label: string, attempt: number, error: Error, delayMs: number): void {
    this.#counters.retried += 1
    this.emit('retrying', {label, attempt, reason: reasonOf(error), delayMs, error})
  }

  #stop(error: AuthError): void {
    if (this.#controller.signal.aborted) return
    this.#controller.abort(error)
    this.emit('stopped', error)
  }

  /** Re-emits a lane event (gate, breaker) on this core until `close()`. */
  #forward(source: EventEmitter<RateGateEvents> | EventEmitter<CircuitBreakerEvents>, event: string, as: keyof SubmissionEvents): void {
    const emitter = source as unknown as EventEmitter
    const target = this as unknown as EventEmitter
    const listener = (...args: unknown[]): void => {
      target.emit(as, ...args)
    }
    emitter.on(event, listener)
    this.#detach.push(() => emitter.off(event, listener))
  }
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}

function reasonOf(error: Error): string {
  if (error instanceof CircuitOpenError) return 'circuit open'
  if (error instanceof SnykHttpError) {
    if (error.kind === 'http') return error.rateLimited ? '429 rate limited' : `${error.status} from Snyk`
    return error.kind
  }
  return error.message
}

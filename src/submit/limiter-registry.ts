// One submission lane per Snyk token for the whole process: the bottleneck limiter (concurrency), the
// RateGate (rate, 429 pauses, adaptive rate) and the CircuitBreaker. Snyk's rate limit is per token, so
// every command, target and worker in the process that uses a token shares its lane: sync, status and
// watch code in one process never add up to more than the token's rate.
//
// Lanes are keyed by a SHA-256 of the token, never the token itself. The first caller's settings make the
// lane; later callers get the same lane whatever settings they pass (`settings` says what it runs with).
import {createHash} from 'node:crypto'
import Bottleneck from 'bottleneck'
import {defaults} from '../config/defaults.ts'
import type {AuthError} from '../errors.ts'
import {CircuitBreaker} from './circuit-breaker.ts'
import type {CircuitBreakerOptions} from './circuit-breaker.ts'
import type {Clock} from './clock.ts'
import {RateGate} from './rate-gate.ts'


export interface LaneSettings {
  /** Requests in flight at once (--concurrency). */
  readonly concurrency?: number
  /** Requests per minute (--rate). */
  readonly ratePerMinute?: number
  /** Length of a "minute" in ms (default 60000; benchmarks shrink it to scale time). */
  readonly minuteMs?: number
  readonly breaker?: Omit<CircuitBreakerOptions, 'clock'>
  readonly clock?: Clock
  readonly random?: () => number
}

export interface ResolvedLaneSettings {
  readonly concurrency: number
  readonly ratePerMinute: number
  readonly minuteMs: number
}

export class SubmissionLane {
  /** Hash of the token (hex, 16 chars): safe to log. */
  readonly key: string
  readonly settings: ResolvedLaneSettings
  /** Concurrency only (`maxConcurrent`); pacing is the gate's. No bottleneck retries, no reservoir. */
  readonly limiter: Bottleneck
  readonly gate: RateGate
  readonly breaker: CircuitBreaker
  readonly #listeners = new Set<(error: AuthError) => void>()
  #tokenRejection: AuthError | undefined

  constructor(key: string, settings: LaneSettings = {}) {
    const concurrency = settings.concurrency ?? defaults.concurrency
    const ratePerMinute = settings.ratePerMinute ?? defaults.ratePerMinute
    const minuteMs = settings.minuteMs ?? 60_000
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be an integer >= 1')
    this.key = key
    this.settings = {concurrency, ratePerMinute, minuteMs}
    this.limiter = new Bottleneck({maxConcurrent: concurrency, minTime: 0})
    this.gate = new RateGate({
      ratePerMinute,
      minuteMs,
      ...(settings.clock ? {clock: settings.clock} : {}),
      ...(settings.random ? {random: settings.random} : {}),
    })
    this.breaker = new CircuitBreaker({...settings.breaker, ...(settings.clock ? {clock: settings.clock} : {})})
    // Every open SubmissionCore of the token listens to the gate and the breaker (3 + 2 listeners each).
    this.gate.setMaxListeners(100)
    this.breaker.setMaxListeners(100)
  }

  /** Set when Snyk answered 401 to this token: no request with it can succeed in this process. */
  get tokenRejection(): AuthError | undefined {
    return this.#tokenRejection
  }

  rejectToken(error: AuthError): void {
    if (this.#tokenRejection) return
    this.#tokenRejection = error
    for (const listener of [...this.#listeners]) listener(error)
  }

  /** Calls `listener` once if the token is rejected; returns the unsubscribe function. */
  onTokenRejected(listener: (error: AuthError) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}

export class LimiterRegistry {
  readonly #lanes = new Map<string, SubmissionLane>()

  /** The lane of this token, created with `settings` if it does not exist yet. */
  lane(token: string, settings: LaneSettings = {}): SubmissionLane {
    const key = tokenKey(token)
    let lane = this.#lanes.get(key)
    if (!lane) {
      lane = new SubmissionLane(key, settings)
      this.#lanes.set(key, lane)
    }
    return lane
  }

  /** Forgets every lane (tests; a long-running process never needs it). */
  clear(): void {
    this.#lanes.clear()
  }
}

/** The process-wide registry. */
export const processLimiters = new LimiterRegistry()

export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16)
}

// The one retry policy for requests to Kubernetes API servers, used by `sync` (pod-lister: each page,
// a bounded number of times) and `watch` (pod-watcher: every reconnect, without bound). Delays come from
// the same backoff formula as Snyk submissions (src/submit/backoff.ts: exponential, times a random factor
// in [1, 2), capped), and never shorter than a `Retry-After` the server sent.
//
// Transient (worth another try): the connection refused, reset, closed or timed out, an HTTP/2 GOAWAY, a
// DNS lookup that failed for now (EAI_AGAIN), 429, and 5xx other than 501/505. Not transient: 401, 403,
// 404, 409, 400 and other 4xx, TLS failures (an unverifiable or expired certificate, a wrong host name), a
// kubeconfig entry that names no cluster, an unknown host (ENOTFOUND), a malformed answer. 410 Gone (an
// expired continue token or resourceVersion) is not retried as is: the caller resumes or relists.
//
// Limits (sync; watch retries every failure without bound, with the same delays): 6 consecutive retries of
// one request (a success resets the count), 20 in all per listing, 2 only while the server has not answered
// yet. Delays: 0.5 s x 2^n x [1, 2), at most 15 s (0.5-1, 1-2, 2-4, 4-8, 8-15, 15 s: an outage of ~30-45 s
// is ridden out); a Retry-After longer than the backoff is waited, one longer than 2 min is not (the failure stands).
import {setTimeout as sleep} from 'node:timers/promises'
import {backoffDelay, resolveBackoff, type BackoffOptions, type ResolvedBackoff} from '../submit/backoff.ts'
import {KubeRequestError} from './kube-api-client.ts'

/** Network error codes (node, undici, HTTP/2) of a connection that failed for now. */
const transientCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EAI_AGAIN',
  'UND_ERR_SOCKET', // "other side closed": the server went away mid-answer
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_STREAM_CANCEL',
])
/** TLS and certificate failures: a configuration problem, never retried even if a reset code is also in the chain. */
const tlsCode = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|ERR_OSSL_)/

export interface KubeRetryOptions {
  /** Retries after consecutive transient failures of one request, a success resets the count (default 6). */
  readonly retries?: number
  /** Retries in all within one listing, whatever succeeded in between (default 20). */
  readonly totalRetries?: number
  /**
   * Retries while the server has not answered once through this policy (default 2): a server that refuses
   * from the start is more likely down or misnamed than restarting, so it fails within seconds; once it has
   * answered, a refused or cut connection is an outage and gets the full `retries`.
   */
  readonly retriesBeforeFirstAnswer?: number
  /** The backoff formula's parameters (default: first retry after 0.5-1 s, doubling, at most 15 s). */
  readonly backoff?: BackoffOptions
  /** A `Retry-After` longer than this is not waited for: the failure stands (default 2 min). */
  readonly maxRetryAfterMs?: number
  /** Randomness of the jitter (tests). */
  readonly random?: () => number
  /** How to wait (tests); rejects when `signal` aborts. */
  readonly sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>
}

export const defaultKubeBackoff: BackoffOptions = {factor: 2, minTimeoutMs: 500, maxTimeoutMs: 15_000, randomize: true}

/** Every error code in an error's cause chain (and in an AggregateError's errors). */
function codesOf(error: unknown, depth = 0): string[] {
  if (depth > 8 || typeof error !== 'object' || error === null) return []
  const {code, cause, errors} = error as {code?: unknown; cause?: unknown; errors?: unknown}
  const own = typeof code === 'string' ? [code] : []
  const name = (error as {name?: unknown}).name
  if (name === 'TimeoutError') own.push('ETIMEDOUT')
  const message = (error as {message?: unknown}).message
  if (typeof message === 'string' && /\bGOAWAY\b/.test(message)) own.push('ERR_HTTP2_GOAWAY_SESSION')
  const nested = Array.isArray(errors) ? errors.flatMap((inner) => codesOf(inner, depth + 1)) : []
  return [...own, ...codesOf(cause, depth + 1), ...nested]
}

/** Whether an HTTP status from an API server says "try again later". */
export function isTransientStatus(status: number | undefined): boolean {
  return status === 429 || (status !== undefined && status >= 500 && status < 600 && status !== 501 && status !== 505)
}

/**
 * Whether a failed request to an API server is worth retrying: a KubeRequestError of kind `server` with a
 * transient status, of kind `unreachable` whose cause is a transient network error (not TLS), or a raw
 * network error (a body cut while it was read, which getJson does not wrap).
 */
export function isTransientKubeError(error: unknown): boolean {
  if (error instanceof KubeRequestError) {
    if (error.kind === 'server') return isTransientStatus(error.status)
    if (error.kind !== 'unreachable') return false
    return transientNetworkError(error.cause)
  }
  return transientNetworkError(error)
}

function transientNetworkError(error: unknown): boolean {
  const codes = codesOf(error)
  if (codes.some((code) => tlsCode.test(code))) return false
  return codes.some((code) => transientCodes.has(code))
}

/**
 * The wait the server asked for, in ms: a `retryAfterMs` on the error (SnykHttpError's; a KubeRequestError's
 * from the `Retry-After` header or the Status' `details.retryAfterSeconds`), else undefined.
 */
export function retryAfterMsOf(error: unknown): number | undefined {
  const value = typeof error === 'object' && error !== null ? (error as {retryAfterMs?: unknown}).retryAfterMs : undefined
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
}

/** A short description of a failure for warnings and logs. */
export function describeKubeFailure(error: unknown): string {
  if (error instanceof KubeRequestError) return error.status ? `${error.status}: ${error.message}` : error.message
  const code = codesOf(error)[0]
  const message = (error as Error | undefined)?.message ?? String(error)
  return code && !message.includes(code) ? `${code}: ${message}` : message
}

export interface RetryInfo {
  /** 1 for the first retry of this request. */
  attempt: number
  delayMs: number
  error: unknown
}

/** The delays and limits of retries, with counters for one piece of work (one listing, one follower). */
export class KubeRetryPolicy {
  readonly retries: number
  readonly totalRetries: number
  readonly retriesBeforeFirstAnswer: number
  readonly maxRetryAfterMs: number
  readonly backoff: ResolvedBackoff
  private readonly random: () => number
  private readonly wait: (ms: number, signal: AbortSignal | undefined) => Promise<void>
  /** Retries made so far through run(). */
  retried = 0
  /** Whether a request through run() has succeeded. */
  answered = false

  constructor(options: KubeRetryOptions = {}) {
    this.retries = options.retries ?? 6
    this.totalRetries = options.totalRetries ?? 20
    this.retriesBeforeFirstAnswer = options.retriesBeforeFirstAnswer ?? 2
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000
    this.backoff = resolveBackoff({...defaultKubeBackoff, ...options.backoff})
    this.random = options.random ?? Math.random
    this.wait = options.sleep ?? ((ms, signal) => sleep(ms, undefined, signal ? {signal} : {}))
  }

  /** Delay before a retry after `retriesConsumed` earlier ones (0 for the first): the backoff, or the server's Retry-After if longer. */
  delayMs(retriesConsumed: number, error?: unknown): number {
    const backoff = backoffDelay(retriesConsumed, this.backoff, this.random)
    const asked = retryAfterMsOf(error)
    return asked === undefined ? backoff : Math.max(backoff, asked)
  }

  /** Whether `run` retries this failure after `retriesConsumed` consecutive retries of the same request. */
  shouldRetry(error: unknown, retriesConsumed: number): boolean {
    if (!isTransientKubeError(error)) return false
    const limit = this.answered ? this.retries : Math.min(this.retries, this.retriesBeforeFirstAnswer)
    if (retriesConsumed >= limit || this.retried >= this.totalRetries) return false
    const asked = retryAfterMsOf(error)
    return asked === undefined || asked <= this.maxRetryAfterMs
  }

  /**
   * Runs one request, retrying transient failures with backoff within the limits. Rejects with the last
   * failure, or with the signal's reason when it aborts (never retried).
   */
  async run<T>(request: () => Promise<T>, options: {signal?: AbortSignal; onRetry?: (info: RetryInfo) => void} = {}): Promise<T> {
    for (let retriesConsumed = 0; ; retriesConsumed++) {
      try {
        const result = await request()
        this.answered = true
        return result
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason
        if (!this.shouldRetry(error, retriesConsumed)) throw error
        const delayMs = this.delayMs(retriesConsumed, error)
        this.retried++
        options.onRetry?.({attempt: retriesConsumed + 1, delayMs, error})
        try {
          await this.wait(delayMs, options.signal)
        } catch (waitError) {
          throw options.signal?.aborted ? options.signal.reason : waitError
        }
      }
    }
  }
}

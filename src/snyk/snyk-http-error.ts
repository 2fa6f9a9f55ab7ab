// How a request to Snyk failed, typed: the status (if any), whether trying again can help, and how long
// Snyk asked us to wait. Messages are for people and never contain the token: every text that came from
// the network is passed through the client's redaction before it lands in a message or a cause.
import {AuthError, ExitCode, SnykWatchError} from '../errors.ts'

/**
 * - `http`: Snyk answered with a status that is not a success;
 * - `network`: no complete answer (connection refused or reset, body cut short, TLS, proxy);
 * - `timeout`: no complete answer within the per-request timeout;
 * - `bad-response`: an answer we cannot use (malformed JSON, missing Location, a link to another host).
 */
export type SnykFailureKind = 'http' | 'network' | 'timeout' | 'bad-response'

export interface SnykHttpErrorOptions {
  readonly kind: SnykFailureKind
  /** `GET`, `POST`. */
  readonly method: string
  /** Path of the request (no host, no query), e.g. `/v1/org/{orgId}/integrations/{id}/import`. */
  readonly path: string
  /** HTTP status; 0 when there was none. */
  readonly status?: number
  /** What Snyk said (already redacted). */
  readonly detail?: string
  /** From `Retry-After` (seconds or an HTTP date), when the answer had one. */
  readonly retryAfterMs?: number
  /** Overrides the default classification (e.g. a bad response that retrying cannot fix). */
  readonly retryable?: boolean
  /** Already redacted (see `redactedCause`). */
  readonly cause?: unknown
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** 429, 408 and every 5xx are worth another try; other statuses are not. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status <= 599)
}

export class SnykHttpError extends SnykWatchError {
  readonly kind: SnykFailureKind
  /** HTTP status; 0 when there was none (network error, timeout). */
  readonly status: number
  readonly method: string
  readonly path: string
  /** True for 429, 408, 5xx, network errors, timeouts and unusable bodies (unless told otherwise). */
  readonly retryable: boolean
  readonly retryAfterMs: number | undefined
  readonly detail: string | undefined

  constructor(options: SnykHttpErrorOptions) {
    const status = options.status ?? 0
    super(describe(options.kind, options.method, options.path, status, options.detail), {
      code: codeOf(options.kind, status),
      exitCode: ExitCode.partialFailure,
      suggestions: suggestionsFor(options.kind, status),
      ...(options.cause === undefined ? {} : {cause: options.cause}),
    })
    this.name = 'SnykHttpError'
    this.kind = options.kind
    this.status = status
    this.method = options.method
    this.path = options.path
    this.detail = options.detail
    this.retryAfterMs = options.retryAfterMs
    this.retryable = options.retryable ?? (options.kind === 'http' ? isRetryableStatus(status) : true)
  }

  /** 429: Snyk's rate limit. */
  get rateLimited(): boolean {
    return this.kind === 'http' && this.status === 429
  }

  /** 401 or 403: the token or the org was refused; no request of this run can succeed. */
  get authFailure(): boolean {
    return this.kind === 'http' && (this.status === 401 || this.status === 403)
  }
}

function describe(kind: SnykFailureKind, method: string, path: string, status: number, detail: string | undefined): string {
  const request = `${method} ${path}`
  const suffix = detail ? `: ${detail}` : ''
  switch (kind) {
    case 'http':
      return `Snyk answered ${status} ${STATUS_TEXT[status] ?? ''}`.trimEnd() + ` to ${request}${suffix}`
    case 'network':
      return `no answer from Snyk to ${request}${suffix}`
    case 'timeout':
      return `Snyk did not answer ${request} in time${suffix}`
    case 'bad-response':
      return `unusable answer from Snyk to ${request}${suffix}`
  }
}

function codeOf(kind: SnykFailureKind, status: number): string {
  switch (kind) {
    case 'http':
      return `SNYK_HTTP_${status}`
    case 'network':
      return 'SNYK_NETWORK'
    case 'timeout':
      return 'SNYK_TIMEOUT'
    case 'bad-response':
      return 'SNYK_BAD_RESPONSE'
  }
}

function suggestionsFor(kind: SnykFailureKind, status: number): string[] {
  if (kind === 'network') return ['Check the network path to the Snyk API (HTTPS_PROXY / NO_PROXY if you need a proxy).', 'Check --api.']
  if (kind === 'timeout') return ['Snyk or the network is slow; the request is retried automatically. Check connectivity if it keeps happening.']
  if (kind === 'bad-response') return ['Check that --api points at the Snyk API (https://api.snyk.io or your region), not a web page or a proxy login.']
  if (status === 400) return ['The image name was refused by the integration: check the registry -> integration mapping (--integration).']
  if (status === 404) return ['Check --org and the integration ids (--integration): Snyk does not know them.']
  if (status === 429) return ['Lower --rate or --concurrency: other clients may share this token\'s rate limit.']
  return []
}

/**
 * The user-facing error for a 401 or 403: 401 means Snyk does not know the token (wrong token, or a token
 * of another region); 403 means the token may not use the org.
 */
export function authErrorFrom(error: SnykHttpError, orgId?: string): AuthError {
  if (error.status === 401) {
    return new AuthError('Snyk rejected the API token (401 Unauthorized)', {
      code: 'SNYK_TOKEN_REJECTED',
      suggestions: [
        'Check SNYK_TOKEN or the file given to --token-file (a revoked or mistyped token is refused).',
        'A token works only in its own region: use --api https://api.eu.snyk.io (or api.us / api.au) for a regional tenant.',
      ],
      cause: error,
    })
  }
  const org = orgId === undefined ? 'the org' : `org ${orgId}`
  return new AuthError(`Snyk refused this token access to ${org} (403 Forbidden)`, {
    code: 'SNYK_ORG_FORBIDDEN',
    suggestions: ['Check --org: use the org id shown in the org settings in Snyk.', 'Use a token of a user or service account that is a member of that org.'],
    cause: error,
  })
}

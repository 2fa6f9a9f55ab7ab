// A small read-only client for one target's API server, on undici with the target's TLS and
// credentials (client certificates, tokens, exec plugins through @kubernetes/client-node's authenticators).
// Used instead of client-node's generated API for pod listing: it keeps only the fields we need
// from each page instead of building typed objects for whole pods.
import type {Readable} from 'node:stream'
import {Agent, request, type Dispatcher} from 'undici'
import {parseRetryAfter} from '../snyk/retry-after.ts'
import {httpsOptionsOf} from './credentials.ts'
import type {Target} from './target.ts'

export type KubeFailureKind = 'unreachable' | 'tls' | 'credentials' | 'unauthorized' | 'forbidden' | 'expired' | 'not-found' | 'conflict' | 'server'

/** The failures that a kubeconfig entry causes, which only its owner can fix: configuration errors, not outages. */
export const configurationFailures: ReadonlySet<KubeFailureKind> = new Set(['tls', 'credentials', 'unauthorized'])

/** TLS errors of a server certificate that the cluster entry's certificate-authority does not verify. */
const certificateVerificationCodes = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
])
const certificateValidityCodes = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'])

/** A request to a target's API server failed. `kind` says how, `message` is for people. */
export class KubeRequestError extends Error {
  readonly kind: KubeFailureKind
  readonly status: number | undefined
  /** For 410 on a list: the continue token the server offers to resume an inconsistent list. */
  readonly continueToken: string | undefined
  /** What to do about it, naming the kubeconfig entry at fault where there is one. */
  readonly suggestion: string | undefined
  /** For 429 and 5xx: the wait the server asked for (Retry-After, or the Status' details.retryAfterSeconds), in ms. */
  readonly retryAfterMs: number | undefined

  constructor(kind: KubeFailureKind, message: string, options: {status?: number; continueToken?: string; suggestion?: string; retryAfterMs?: number; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'KubeRequestError'
    this.kind = kind
    this.status = options.status
    this.continueToken = options.continueToken
    this.suggestion = options.suggestion
    this.retryAfterMs = options.retryAfterMs
  }
}

interface KubeStatus {
  kind?: string
  message?: string
  reason?: string
  metadata?: {continue?: string}
  details?: {retryAfterSeconds?: number}
}

/** Accept header asking for object metadata only (PartialObjectMetadataList). */
export const metadataOnly = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json'

export class KubeApiClient {
  readonly target: Target
  private readonly server: string
  private dispatcher: Dispatcher | undefined
  private readonly requestTimeoutMs: number

  constructor(target: Target, options: {requestTimeoutMs?: number} = {}) {
    this.target = target
    const cluster = target.config.getCurrentCluster()
    if (!cluster) throw new KubeRequestError('unreachable', `context ${target.context} names no cluster`)
    this.server = cluster.server.replace(/\/+$/, '')
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000
  }

  private async connection(): Promise<{dispatcher: Dispatcher; headers: Record<string, string>}> {
    // Token files and exec plugins are read again on each call (rotation); the TLS material makes the agent once.
    const options = await httpsOptionsOf(this.target.config)
    if (!this.dispatcher) {
      this.dispatcher = new Agent({
        connect: {
          ...(options.ca ? {ca: options.ca} : {}),
          ...(options.cert ? {cert: options.cert} : {}),
          ...(options.key ? {key: options.key} : {}),
          ...(options.rejectUnauthorized === false ? {rejectUnauthorized: false} : {}),
          ...(options.servername ? {servername: options.servername} : {}),
        },
        connectTimeout: 10_000,
      })
    }
    return {dispatcher: this.dispatcher, headers: options.headers}
  }

  /** GET a path and parse the JSON answer. Errors become KubeRequestError with a message for people. */
  async getJson<T>(pathname: string, query: Record<string, string | number | undefined>, options: {signal?: AbortSignal; accept?: string} = {}): Promise<T> {
    const response = await this.send('GET', pathname, query, {accept: options.accept ?? 'application/json', signal: options.signal, timeout: 'overall'})
    return (await response.body.json()) as T
  }

  /**
   * GET a streaming path (a watch): resolves with the response body once the server answered 2xx, to be
   * read as it arrives (reading it slowly applies backpressure to the connection). No overall or body
   * timeout: the caller detects inactivity and aborts through `signal`. Errors as getJson.
   */
  async stream(pathname: string, query: Record<string, string | number | undefined>, options: {signal: AbortSignal; accept?: string}): Promise<Readable> {
    const response = await this.send('GET', pathname, query, {accept: options.accept ?? 'application/json', signal: options.signal, timeout: 'headers'})
    return response.body
  }

  /**
   * A JSON write (POST, PUT, PATCH, DELETE) and its parsed JSON answer, with the credentials and timeout of
   * getJson. Errors as getJson; 409 (a stale resourceVersion, or a create of an existing object) is `conflict`.
   */
  async sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', pathname: string, body: unknown, options: {signal?: AbortSignal; contentType?: string} = {}): Promise<T> {
    const response = await this.send(method, pathname, {}, {accept: 'application/json', signal: options.signal, timeout: 'overall', body: JSON.stringify(body), contentType: options.contentType ?? 'application/json'})
    return (await response.body.json()) as T
  }

  /**
   * One request with the target's credentials; resolves with a 2xx answer. `overall`: the whole request
   * within requestTimeoutMs; `headers`: only the answer's headers (a stream). Errors as getJson.
   */
  private async send(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    pathname: string,
    query: Record<string, string | number | undefined>,
    options: {accept: string; signal: AbortSignal | undefined; timeout: 'overall' | 'headers'; body?: string; contentType?: string},
  ): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.server + pathname)
    for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') url.searchParams.set(name, String(value))
    const {dispatcher, headers} = await this.connection()
    const signal = options.timeout === 'overall' ? AbortSignal.any([AbortSignal.timeout(this.requestTimeoutMs), ...(options.signal ? [options.signal] : [])]) : options.signal
    let response: Dispatcher.ResponseData
    try {
      response = await request(url, {
        dispatcher,
        method,
        headers: {...headers, accept: options.accept, 'user-agent': 'kubectl-snyk-watch', ...(options.contentType ? {'content-type': options.contentType} : {})},
        ...(options.body === undefined ? {} : {body: options.body}),
        ...(signal ? {signal} : {}),
        ...(options.timeout === 'headers' ? {headersTimeout: this.requestTimeoutMs, bodyTimeout: 0} : {}),
      })
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason
      throw this.connectionFailure(error)
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response
    throw await this.failure(response)
  }

  /** The kubeconfig entries of this target, named as the user wrote them. */
  private entries(): {cluster: string; user: string; source: string} {
    const context = this.target.config.getContextObject(this.target.context)
    return {cluster: context?.cluster ?? '', user: context?.user ?? '', source: this.target.source}
  }

  /** The KubeRequestError for a request that got no answer: a certificate or credential mistake, else the network. */
  private connectionFailure(error: unknown): KubeRequestError {
    const cause = (error as {cause?: unknown}).cause
    const code = (error as {code?: string}).code ?? (cause as {code?: string} | undefined)?.code ?? (error as Error).name
    const detail = `${code}: ${(error as Error).message}`
    const {cluster, user, source} = this.entries()
    const check = `check with: kubectl --context ${this.target.context} cluster-info`
    if (certificateVerificationCodes.has(code)) {
      return new KubeRequestError('tls', `the certificate of ${this.server} is not signed by the certificate-authority of cluster "${cluster}" (${detail})`, {
        suggestion: `fix the certificate-authority (or certificate-authority-data) of cluster "${cluster}" in ${source}: it must be the CA that signed the API server's certificate; ${check}`,
        cause: error,
      })
    }
    if (certificateValidityCodes.has(code)) {
      return new KubeRequestError('tls', `the certificate of ${this.server} is not valid now (${detail})`, {
        suggestion: `the API server's certificate has expired or is not valid yet: renew it, or check this machine's clock; ${check}`,
        cause: error,
      })
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new KubeRequestError('tls', `the certificate of ${this.server} is not issued for that address (${detail})`, {
        suggestion: `fix the server (or tls-server-name) of cluster "${cluster}" in ${source} to a name the certificate carries; ${check}`,
        cause: error,
      })
    }
    if (code.startsWith('ERR_OSSL')) {
      return new KubeRequestError('credentials', `cannot use the client certificate and key of user "${user}" (${detail})`, {
        suggestion: `fix client-certificate(-data) and client-key(-data) of user "${user}" in ${source}: the key must match the certificate`,
        cause: error,
      })
    }
    return new KubeRequestError('unreachable', `cannot reach ${this.server} (${detail})`, {
      suggestion: `check the cluster is up and reachable: kubectl --context ${this.target.context} cluster-info`,
      cause: error,
    })
  }

  /** The KubeRequestError for a non-2xx answer. */
  private async failure(response: Dispatcher.ResponseData): Promise<KubeRequestError> {
    const text = await response.body.text()
    let status: KubeStatus = {}
    try {
      status = JSON.parse(text) as KubeStatus
    } catch {
      // not a Status object
    }
    const detail = status.message ?? text.slice(0, 200)
    const code = response.statusCode
    if (code === 401) {
      const {user, source} = this.entries()
      return new KubeRequestError('unauthorized', `${this.server} refused the credentials of user "${user}" (context ${this.target.context}): 401 Unauthorized`, {
        status: code,
        suggestion: `renew the client certificate or token of user "${user}" in ${source} (expired, revoked, or not issued by this cluster's CA); check with: kubectl --context ${this.target.context} auth whoami`,
      })
    }
    if (code === 403) return new KubeRequestError('forbidden', detail, {status: code})
    if (code === 404) return new KubeRequestError('not-found', detail, {status: code})
    if (code === 409) return new KubeRequestError('conflict', detail, {status: code})
    if (code === 410) return new KubeRequestError('expired', detail, {status: code, ...(status.metadata?.continue ? {continueToken: status.metadata.continue} : {})})
    // 429 (API priority and fairness) and 5xx may say when to come back: the header, or the Status' details.
    const fromDetails = typeof status.details?.retryAfterSeconds === 'number' ? status.details.retryAfterSeconds * 1000 : undefined
    const retryAfterMs = parseRetryAfter(response.headers['retry-after']) ?? fromDetails
    return new KubeRequestError('server', `${this.server} answered ${code}: ${detail}`, {status: code, ...(retryAfterMs === undefined ? {} : {retryAfterMs})})
  }

  async close(): Promise<void> {
    await this.dispatcher?.close()
    this.dispatcher = undefined
  }
}

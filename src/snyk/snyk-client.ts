// The Snyk API, as `kubectl snyk-watch` uses it: v1 integrations and imports (with import job polling)
// under `${apiBase}/v1`, REST projects and SBOMs under `${apiBase}/rest`.
//
// One request per call, never retried here: retry, rate limiting and pauses live in the submission core
// (src/submit), which calls these methods inside `pRetry(() => limiter.schedule(...))`. Each request has a
// deadline (`requestTimeoutMs`) combined with the caller's AbortSignal, every response body is read to the
// end, and every failure becomes a SnykHttpError whose message, detail and cause never hold the token.
import {EnvHttpProxyAgent, request} from 'undici'
import type {Dispatcher} from 'undici'
import {UsageError} from '../errors.ts'
import {parseImportJob} from './import-job.ts'
import type {ImportJob, ImportSubmission} from './import-job.ts'
import {parseRetryAfter} from './retry-after.ts'
import {SnykHttpError} from './snyk-http-error.ts'
import type {SnykFailureKind} from './snyk-http-error.ts'
import {parseProject} from './snyk-project.ts'
import type {SnykProject} from './snyk-project.ts'
import {DEFAULT_SNYK_API} from '../config/defaults.ts'

/** The REST API version we are written against (the version of Snyk's REST document our contract is distilled from). */
export const SNYK_REST_VERSION = '2024-10-15'
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000

const V1_MEDIA_TYPE = 'application/json; charset=utf-8'
const JSON_API_MEDIA_TYPE = 'application/vnd.api+json'
const USER_AGENT = 'kubectl-snyk-watch'
/** Keeps a REST query well under common URL length limits when filtering by many ids or names. */
const MAX_FILTER_CHARS = 1800

export interface SnykClientOptions {
  /** The token (`SNYK_TOKEN`). Sent only to `apiBase`, never logged. */
  readonly token: string
  /** `https://api.snyk.io` (default) or a regional host (`https://api.eu.snyk.io`, ...); a trailing `/v1` or `/rest` is ignored. */
  readonly apiBase?: string
  /** Default: an undici `EnvHttpProxyAgent` (honours HTTP_PROXY, HTTPS_PROXY, NO_PROXY), closed by `close()`. */
  readonly dispatcher?: Dispatcher
  /** Deadline of one request, body included (default 30 s). */
  readonly requestTimeoutMs?: number
  /** REST `version` parameter (default SNYK_REST_VERSION). */
  readonly restVersion?: string
  /** `token` for API tokens (default), `bearer` for service-account and OAuth tokens. */
  readonly authScheme?: 'token' | 'bearer'
  /** Wall-clock time, for `Retry-After` dates (default Date.now). */
  readonly now?: () => number
}

/** The org's integrations as Snyk's v1 API lists them: integration type (`docker-hub`, `ecr`, `gcr`, ...) -> id. Not the images' IntegrationMap (src/images/integration-map.ts), which plans imports from it. */
export type OrgIntegrations = Readonly<Record<string, string>>

export interface ProjectQuery {
  /** Only these project ids. */
  readonly ids?: readonly string[]
  /** Only projects with exactly these names (container projects are named after the imported target). */
  readonly names?: readonly string[]
  /** Page size, 10..100 in steps of 10 (default 100). */
  readonly limit?: number
}

/** Runs one request; the submission core's `run` has this shape, so pages can go through its limiter. */
export type RequestRunner = <T>(label: string, send: (signal: AbortSignal) => Promise<T>, options?: {signal?: AbortSignal}) => Promise<T>

export type SbomFormat = 'cyclonedx1.6+json' | 'cyclonedx1.5+json' | 'cyclonedx1.4+json'

/** A CycloneDX JSON document (only what we read is typed). */
export interface CycloneDxDocument {
  readonly bomFormat: string
  readonly specVersion: string
  readonly components?: ReadonlyArray<Record<string, unknown>>
  readonly [key: string]: unknown
}

interface Exchange {
  readonly status: number
  readonly headers: Dispatcher.ResponseData['headers']
  readonly text: string
}

interface RequestSpec {
  readonly method: 'GET' | 'POST'
  readonly url: URL
  readonly api: 'v1' | 'rest'
  readonly body?: unknown
  readonly accept?: string
}

export class SnykClient {
  /** `https://api.snyk.io` (no trailing slash). */
  readonly apiBase: string
  readonly restVersion: string
  readonly #token: string
  readonly #authorization: string
  readonly #dispatcher: Dispatcher
  readonly #ownsDispatcher: boolean
  readonly #timeoutMs: number
  readonly #now: () => number
  readonly #origin: string

  constructor(options: SnykClientOptions) {
    if (typeof options.token !== 'string' || options.token.trim() === '') {
      throw new UsageError('No Snyk API token', {code: 'SNYK_TOKEN_MISSING', suggestions: ['Set SNYK_TOKEN or pass --token-file.']})
    }
    if (/\s/.test(options.token.trim())) {
      throw new UsageError('The Snyk API token contains white space', {code: 'SNYK_TOKEN_INVALID', suggestions: ['Check SNYK_TOKEN or the file given to --token-file.']})
    }
    this.apiBase = normaliseApiBase(options.apiBase ?? DEFAULT_SNYK_API)
    this.#origin = new URL(this.apiBase).origin
    this.restVersion = options.restVersion ?? SNYK_REST_VERSION
    this.#token = options.token.trim()
    this.#authorization = `${options.authScheme ?? 'token'} ${this.#token}`
    this.#ownsDispatcher = options.dispatcher === undefined
    this.#dispatcher = options.dispatcher ?? new EnvHttpProxyAgent({connectTimeout: 10_000})
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.#now = options.now ?? Date.now
    if (!(this.#timeoutMs > 0)) throw new RangeError('requestTimeoutMs must be > 0')
  }

  /** The container registry integrations of the org (v1 `GET /org/{orgId}/integrations`): type -> id. */
  async listIntegrations(orgId: string, signal: AbortSignal): Promise<OrgIntegrations> {
    const url = this.#v1Url(`/org/${encodeURIComponent(orgId)}/integrations`)
    const body = this.#json(await this.#send({method: 'GET', url, api: 'v1'}, signal), 'GET', url)
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw this.#badResponse('GET', url, 'the integrations are not a JSON object')
    const map: Record<string, string> = {}
    for (const [type, id] of Object.entries(body)) if (typeof id === 'string') map[type] = id
    return map
  }

  /**
   * Imports an image through a container registry integration (v1 `POST .../integrations/{id}/import`,
   * `{"target": {"name": targetName}}`): 201 and a Location naming the import job.
   */
  async importImage(orgId: string, integrationId: string, targetName: string, signal: AbortSignal): Promise<ImportSubmission> {
    const url = this.#v1Url(`/org/${encodeURIComponent(orgId)}/integrations/${encodeURIComponent(integrationId)}/import`)
    const exchange = await this.#send({method: 'POST', url, api: 'v1', body: {target: {name: targetName}}}, signal)
    const location = headerOf(exchange.headers, 'location')
    if (location === undefined) throw this.#badResponse('POST', url, `answered ${exchange.status} without a Location header`, false)
    const job = /\/org\/([^/?#]+)\/integrations\/([^/?#]+)\/import\/([^/?#]+)\/?(?:[?#].*)?$/.exec(location)
    if (!job) throw this.#badResponse('POST', url, 'the Location header does not name an import job', false)
    const [, jobOrg = '', jobIntegration = '', jobId = ''] = job
    // Rebuilt on our own API base: the token is never sent to a host taken from a response.
    return {jobUrl: `${this.apiBase}/v1/org/${jobOrg}/integrations/${jobIntegration}/import/${jobId}`, jobId: decodeURIComponent(jobId)}
  }

  /** Reads an import job (v1 `GET` on the URL `importImage` returned). */
  async getImportJob(jobUrl: string, signal: AbortSignal): Promise<ImportJob> {
    const url = new URL(jobUrl)
    if (url.origin !== this.#origin || !url.pathname.startsWith(`${new URL(this.apiBase).pathname.replace(/\/$/, '')}/v1/`)) {
      throw new UsageError(`import job URL ${url.origin}${url.pathname} is not on the Snyk API ${this.apiBase}`, {code: 'SNYK_JOB_URL'})
    }
    const body = this.#json(await this.#send({method: 'GET', url, api: 'v1'}, signal), 'GET', url)
    const job = parseImportJob(body)
    if (typeof job === 'string') throw this.#badResponse('GET', url, job, false)
    return job
  }

  /**
   * The org's projects (REST `GET /orgs/{org_id}/projects`) with their latest issue counts, following
   * `links.next`. Long `ids`/`names` filters are split over several queries. With `run`, each page is one
   * call of `run` (one limiter slot and its own retries); otherwise pages are requested directly with `signal`.
   */
  async listProjects(orgId: string, query: ProjectQuery, signal: AbortSignal, run?: RequestRunner): Promise<SnykProject[]> {
    const limit = pageLimit(query.limit)
    const filters: Array<{name: 'ids' | 'names'; values: readonly string[]}> = []
    if (query.ids !== undefined) filters.push({name: 'ids', values: query.ids})
    if (query.names !== undefined) filters.push({name: 'names', values: query.names})
    if (filters.some((filter) => filter.values.length === 0)) return []
    const [chunked, ...others] = filters
    const chunks = chunked ? chunkByLength(chunked.values, MAX_FILTER_CHARS) : [undefined]
    const projects: SnykProject[] = []
    const seen = new Set<string>()
    for (const chunk of chunks) {
      let url: URL | undefined = this.#restUrl(`/orgs/${encodeURIComponent(orgId)}/projects`)
      url.searchParams.set('version', this.restVersion)
      url.searchParams.set('limit', String(limit))
      url.searchParams.set('meta.latest_issue_counts', 'true')
      if (chunked && chunk) url.searchParams.set(chunked.name, chunk.join(','))
      for (const other of others) url.searchParams.set(other.name, other.values.join(','))
      for (let pages = 0; url !== undefined; pages += 1) {
        if (pages > 10_000) throw this.#badResponse('GET', url, 'pagination does not end', false)
        const pageUrl: URL = url
        const fetchPage = (pageSignal: AbortSignal): Promise<{data: unknown[]; next: string | undefined}> => this.#projectsPage(pageUrl, pageSignal)
        const page = run ? await run(`list projects of org ${orgId}`, fetchPage, {signal}) : await fetchPage(signal)
        for (const resource of page.data) {
          const project = parseProject(resource)
          if (project && !seen.has(project.id)) {
            seen.add(project.id)
            projects.push(project)
          }
        }
        url = page.next === undefined ? undefined : this.#restLink(page.next, pageUrl)
      }
    }
    return projects
  }

  /** A project's SBOM (REST `GET /orgs/{org_id}/projects/{project_id}/sbom`) as CycloneDX JSON. */
  async getProjectSbom(orgId: string, projectId: string, signal: AbortSignal, format: SbomFormat = 'cyclonedx1.6+json'): Promise<CycloneDxDocument> {
    const url = this.#restUrl(`/orgs/${encodeURIComponent(orgId)}/projects/${encodeURIComponent(projectId)}/sbom`)
    url.searchParams.set('version', this.restVersion)
    url.searchParams.set('format', format)
    const body = this.#json(await this.#send({method: 'GET', url, api: 'rest', accept: 'application/vnd.cyclonedx+json, application/json'}, signal), 'GET', url)
    if (typeof body !== 'object' || body === null || typeof (body as {bomFormat?: unknown}).bomFormat !== 'string') {
      throw this.#badResponse('GET', url, 'the SBOM is not a CycloneDX JSON document', false)
    }
    return body as CycloneDxDocument
  }

  /** Closes the dispatcher this client created (an injected one belongs to the caller). */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close()
  }

  async #projectsPage(url: URL, signal: AbortSignal): Promise<{data: unknown[]; next: string | undefined}> {
    const body = this.#json(await this.#send({method: 'GET', url, api: 'rest'}, signal), 'GET', url) as {data?: unknown; links?: {next?: unknown}} | null
    if (typeof body !== 'object' || body === null || !Array.isArray(body.data)) throw this.#badResponse('GET', url, 'the projects page has no data array')
    const next = body.links?.next
    return {data: body.data, next: typeof next === 'string' && next !== '' ? next : undefined}
  }

  /** One HTTP exchange: a 2xx with its whole body read, or a SnykHttpError (or the caller's abort reason). */
  async #send(spec: RequestSpec, signal: AbortSignal): Promise<Exchange> {
    signal.throwIfAborted()
    const deadline = AbortSignal.timeout(this.#timeoutMs)
    const combined = AbortSignal.any([signal, deadline])
    const headers: Record<string, string> = {
      authorization: this.#authorization,
      'user-agent': USER_AGENT,
      accept: spec.accept ?? (spec.api === 'v1' ? 'application/json' : JSON_API_MEDIA_TYPE),
    }
    // v1 documents `Content-Type: application/json; charset=utf-8` as a required header of every operation.
    if (spec.api === 'v1') headers['content-type'] = V1_MEDIA_TYPE
    const failure = (error: unknown): unknown => {
      if (signal.aborted) return signal.reason
      const kind: SnykFailureKind = deadline.aborted ? 'timeout' : 'network'
      const detail = kind === 'timeout' ? `no complete answer within ${this.#timeoutMs} ms` : this.#networkDetail(error)
      return new SnykHttpError({kind, method: spec.method, path: spec.url.pathname, detail, cause: this.#redactedCause(error)})
    }
    let response: Dispatcher.ResponseData
    try {
      response = await request(spec.url, {
        dispatcher: this.#dispatcher,
        method: spec.method,
        headers,
        ...(spec.body === undefined ? {} : {body: JSON.stringify(spec.body)}),
        signal: combined,
      })
    } catch (error) {
      throw failure(error)
    }
    let text: string
    try {
      // Always read to the end (or fail trying): the connection goes back to the pool only then.
      text = await response.body.text()
    } catch (error) {
      throw failure(error)
    }
    const status = response.statusCode
    if (status >= 200 && status < 300) return {status, headers: response.headers, text}
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.#now())
    throw new SnykHttpError({
      kind: 'http',
      method: spec.method,
      path: spec.url.pathname,
      status,
      ...(retryAfterMs === undefined ? {} : {retryAfterMs}),
      ...detailOf(this.#redact(text)),
    })
  }

  #json(exchange: Exchange, method: string, url: URL): unknown {
    try {
      return JSON.parse(exchange.text) as unknown
    } catch {
      throw this.#badResponse(method, url, `the body is not JSON (${exchange.text.length} bytes)`)
    }
  }

  #badResponse(method: string, url: URL, detail: string, retryable = true): SnykHttpError {
    return new SnykHttpError({kind: 'bad-response', method, path: url.pathname, detail: this.#redact(detail), retryable})
  }

  #v1Url(path: string): URL {
    return new URL(`${this.apiBase}/v1${path}`)
  }

  #restUrl(path: string): URL {
    return new URL(`${this.apiBase}/rest${path}`)
  }

  /** A `links.next` of Snyk: relative to the REST base (`/orgs/...`), `/rest/...`, or absolute on the same host. */
  #restLink(link: string, current: URL): URL {
    let url: URL
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) url = new URL(link)
    else if (link.startsWith('/rest/')) url = new URL(`${this.apiBase}${link}`)
    else if (link.startsWith('/')) url = new URL(`${this.apiBase}/rest${link}`)
    else url = new URL(link, current)
    if (url.origin !== this.#origin) throw this.#badResponse('GET', current, `a pagination link points to another host (${url.origin})`, false)
    if (!url.searchParams.has('version')) url.searchParams.set('version', this.restVersion)
    return url
  }

  #networkDetail(error: unknown): string {
    const code = (error as {code?: unknown} | null)?.code
    const message = error instanceof Error ? error.message : String(error)
    return this.#redact(typeof code === 'string' ? `${code}: ${message}` : message)
  }

  #redact(text: string): string {
    return text.split(this.#token).join('[REDACTED]')
  }

  /** A copy of an error chain with every message redacted (the original may hold request details). */
  #redactedCause(error: unknown, depth = 0): Error {
    if (!(error instanceof Error)) return new Error(this.#redact(String(error)))
    const copy = new Error(this.#redact(error.message), depth < 3 && error.cause !== undefined ? {cause: this.#redactedCause(error.cause, depth + 1)} : undefined)
    copy.name = error.name
    const code = (error as {code?: unknown}).code
    if (typeof code === 'string') Object.defineProperty(copy, 'code', {value: code, enumerable: true})
    copy.stack = `${copy.name}: ${copy.message}`
    return copy
  }
}

function normaliseApiBase(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`--api ${value} is not a URL`, {code: 'SNYK_API_INVALID', suggestions: ['Use https://api.snyk.io or your region: https://api.eu.snyk.io, https://api.us.snyk.io, https://api.au.snyk.io.']})
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`--api ${value} is not an http(s) URL`, {code: 'SNYK_API_INVALID'})
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new UsageError('--api must be a plain base URL (no credentials, query or fragment)', {code: 'SNYK_API_INVALID'})
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '').replace(/\/(?:v1|rest)$/, '')
}

function headerOf(headers: Exchange['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** What Snyk said: v1 `{message, error}` or JSON:API `{errors: [{detail, title}]}`; else the start of the text. */
function detailOf(text: string): {detail?: string} {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    const start = text.trim().slice(0, 200)
    return start === '' ? {} : {detail: start}
  }
  if (typeof body === 'object' && body !== null) {
    const errors = (body as {errors?: unknown}).errors
    if (Array.isArray(errors)) {
      const details = errors.map((error: {detail?: unknown; title?: unknown}) => (typeof error.detail === 'string' ? error.detail : typeof error.title === 'string' ? error.title : '')).filter((d) => d !== '')
      if (details.length > 0) return {detail: details.join('; ').slice(0, 500)}
    }
    const {message, error} = body as {message?: unknown; error?: unknown}
    if (typeof message === 'string' && message !== '') return {detail: message.slice(0, 500)}
    if (typeof error === 'string' && error !== '') return {detail: error.slice(0, 500)}
  }
  return {}
}

function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return 100
  return Math.min(100, Math.max(10, Math.round(limit / 10) * 10))
}

/** Splits values into groups whose comma-joined length stays under `max` characters. */
function chunkByLength(values: readonly string[], max: number): string[][] {
  const chunks: string[][] = []
  let current: string[] = []
  let length = 0
  for (const value of values) {
    if (current.length > 0 && length + value.length + 1 > max) {
      chunks.push(current)
      current = []
      length = 0
    }
    current.push(value)
    length += value.length + 1
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

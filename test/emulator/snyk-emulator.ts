/**
 * An HTTP emulator of the parts of Snyk's API that `kubectl snyk-watch` uses: v1 under `${url}/v1`, REST
 * under `${url}/rest`, as on `https://api.snyk.io`. Every request and response is validated against Snyk's
 * official documents; off-contract requests get the 400 Snyk would send and are recorded as violations.
 *
 * A request goes through, in order: routing (404 for anything not documented), auth (401), the rate limit
 * (429), the contract (400), REST version resolution (400/404), org access (404 unknown org, 403 an org the
 * token may not use), then the operation's handler. Contract checks run on every request, whatever its
 * outcome, so an off-contract request is recorded even when it is also unauthenticated or faulted.
 */
import {randomUUID} from 'node:crypto'
import {createServer} from 'node:http'
import type {IncomingHttpHeaders, IncomingMessage, Server, ServerResponse} from 'node:http'
import type {Socket} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import {apiError, restError, v1Error} from './api-responses.ts'
import type {EmulatorResponse} from './api-responses.ts'
import {resolveVersion} from './api-version.ts'
import type {ResolvedVersion} from './api-version.ts'
import {API_ROOTS, getContractValidator} from './contract-validator.ts'
import type {ApiName, ContractOperation, ContractValidator} from './contract-validator.ts'
import {describeViolations} from './contract-violation.ts'
import type {ContractViolation} from './contract-violation.ts'
import {injectFault} from './fault-injector.ts'
import {FaultPlan} from './fault-plan.ts'
import {readBody, sendResponse} from './http-exchange.ts'
import type {RequestBody} from './http-exchange.ts'
import type {OperationContext, OperationHandler} from './operation-handler.ts'
import type {LinkStyle} from './pagination.ts'
import {DEFAULT_RATE_LIMIT, RateLimiter} from './rate-limiter.ts'
import type {RateLimitSettings} from './rate-limiter.ts'
import {queryRecord} from './request-log.ts'
import type {LoggedRequest} from './request-log.ts'
import {REST_HANDLERS} from './rest-handlers.ts'
import {SnykWorld} from './snyk-world.ts'
import type {ImportMatcher, IssueCounts, Org, WorldOptions} from './snyk-world.ts'
import type {ContainerIntegrationType} from './target-name-rules.ts'
import {V1_HANDLERS} from './v1-handlers.ts'

export interface SnykEmulatorOptions extends WorldOptions {
  /** Port on 127.0.0.1 (default 0: any free port). */
  readonly port?: number
  /** Per-token rate limit (default 2000 requests per 60 s, no `Retry-After`). */
  readonly rateLimit?: RateLimitSettings
  /** Form of REST pagination links (default `relative`, as Snyk: `/orgs/...`). */
  readonly linkStyle?: LinkStyle
  /** The distilled contract to validate against (default the committed `test/contracts/snyk-api-contract.json`). */
  readonly contractFile?: string
  /** Called with each violation as it is recorded (e.g. to print it). */
  readonly onViolation?: (violation: ContractViolation) => void
}

export interface EmulatorStats {
  requests: number
  /** Every 429 sent, by the rate limit or by a `429` fault. */
  tooManyRequests: number
  /** 429s sent by the rate limit. */
  rateLimited: number
  faultsInjected: number
}

/** A request on its way through the emulator. */
interface Exchange {
  readonly method: string
  readonly url: URL
  readonly api: ApiName | undefined
  readonly operation: ContractOperation | undefined
  readonly headers: IncomingHttpHeaders
  readonly body: unknown
  readonly entry: LoggedRequest
  /** Why the request is off-contract (already recorded). */
  readonly problems: readonly string[]
}

/** What a request that passed every gate may use. */
interface Admission {
  readonly org: Org
  readonly params: Record<string, string>
  readonly version: ResolvedVersion | undefined
}

const HANDLERS: Readonly<Record<ApiName, Readonly<Record<string, OperationHandler>>>> = {v1: V1_HANDLERS, rest: REST_HANDLERS}

export class SnykEmulator {
  /** `http://127.0.0.1:PORT`; v1 is under `${url}/v1`, REST under `${url}/rest`. */
  readonly url: string
  readonly world: SnykWorld
  /** Faults to inject: `emulator.faults.push({when: {...}, fault: {...}})`. */
  readonly faults = new FaultPlan()
  readonly stats: Readonly<EmulatorStats>
  readonly #counters: EmulatorStats = {requests: 0, tooManyRequests: 0, rateLimited: 0, faultsInjected: 0}
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  readonly #validator: ContractValidator
  readonly #limiter: RateLimiter
  readonly #linkStyle: LinkStyle
  readonly #log: LoggedRequest[] = []
  readonly #violations: ContractViolation[] = []
  readonly #closing = new AbortController()
  readonly #onViolation: ((violation: ContractViolation) => void) | undefined
  #closed: Promise<void> | undefined

  private constructor(server: Server, url: string, validator: ContractValidator, world: SnykWorld, options: SnykEmulatorOptions) {
    this.#server = server
    this.url = url
    this.#validator = validator
    this.world = world
    this.#limiter = new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT)
    this.#linkStyle = options.linkStyle ?? 'relative'
    this.#onViolation = options.onViolation
    this.stats = this.#counters
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#serve(req, res).catch((error: unknown) => this.#internalError(req, res, error))
    })
  }

  static async start(options: SnykEmulatorOptions = {}): Promise<SnykEmulator> {
    const world = new SnykWorld(options)
    const validator = await getContractValidator(options.contractFile)
    const server = createServer({keepAliveTimeout: 5_000})
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
    })
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('emulator: no TCP address')
    return new SnykEmulator(server, `http://127.0.0.1:${address.port}`, validator, world, options)
  }

  /** The token that may use every org. */
  get token(): string {
    return this.world.token
  }

  /** Id of the default org. */
  get orgId(): string {
    return this.world.defaultOrg.id
  }

  /** Integration type -> id, for the default org (or `orgId`). */
  integrations(orgId: string = this.orgId): Partial<Record<ContainerIntegrationType, string>> {
    return Object.fromEntries(this.world.integrationsOf(orgId).map((integration) => [integration.type, integration.id]))
  }

  integrationId(type: ContainerIntegrationType, orgId: string = this.orgId): string {
    return this.world.integrationId(type, orgId)
  }

  /** Time the shared contract validator took to compile (once per process). */
  get validatorStartupMs(): number {
    return this.#validator.startupMs
  }

  /** Every request so far, oldest first. */
  get requests(): readonly LoggedRequest[] {
    return this.#log
  }

  /** Requests to the documented operation `operationId` (e.g. `Importtargets`, `listOrgProjects`). */
  requestsFor(operationId: string): LoggedRequest[] {
    return this.#log.filter((entry) => entry.operationId === operationId)
  }

  /** Import requests (`POST .../import`) whose body names `targetName`, whatever their outcome. */
  importsOf(targetName: string): LoggedRequest[] {
    return this.requestsFor('Importtargets').filter((entry) => {
      const body = entry.body as {target?: {name?: unknown}} | undefined
      return body?.target?.name === targetName
    })
  }

  clearRequests(): void {
    this.#log.length = 0
  }

  get violations(): readonly ContractViolation[] {
    return this.#violations
  }

  /** Returns the violations recorded so far and forgets them (for tests that break the contract on purpose). */
  takeViolations(): ContractViolation[] {
    return this.#violations.splice(0)
  }

  /** Throws an Error listing every recorded violation, if there is one. */
  assertNoViolations(): void {
    if (this.#violations.length > 0) throw new Error(describeViolations(this.#violations))
  }

  setIssueCounts(targetName: string, counts: IssueCounts): void {
    this.world.setIssueCounts(targetName, counts)
  }

  /** Imports of matching targets end `failed`; returns a function that undoes this. */
  failImports(matcher: ImportMatcher): () => void {
    return this.world.failImports(matcher)
  }

  /** New rate limit; every token starts a fresh window. */
  setRateLimit(settings: RateLimitSettings): void {
    this.#limiter.configure(settings)
  }

  /** Stops the server, destroying every open connection (hung ones included). */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#closing.abort()
      this.#server.close(() => resolve())
      for (const socket of this.#sockets) socket.destroy()
    })
    return this.#closed
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const exchange = this.#receive(req, await readBody(req))
    const fault = this.faults.take({method: exchange.method, path: exchange.url.pathname, operationId: exchange.operation?.operationId})
    if (fault) {
      exchange.entry.fault = fault.kind
      this.#counters.faultsInjected += 1
      if (fault.kind !== 'slow') {
        if (fault.kind === '429') this.#counters.tooManyRequests += 1
        exchange.entry.status = injectFault(fault, exchange.api ?? 'rest', req, res)
        return
      }
      if (!(await this.#delay(fault.delayMs))) return
    }
    const response = this.#answer(exchange)
    exchange.entry.status = response.status
    this.#checkResponse(exchange, response)
    exchange.entry.answeredAt = Date.now()
    if (req.socket.destroyed || req.socket.readableEnded) exchange.entry.clientGone = true
    sendResponse(res, response)
  }

  /** Logs the request and checks it against the contract, whatever happens to it next. */
  #receive(req: IncomingMessage, body: RequestBody): Exchange {
    const method = (req.method ?? 'GET').toUpperCase()
    const url = new URL(req.url ?? '/', this.url)
    const api = apiOf(url.pathname)
    const operation = api ? this.#validator.match(api, method, url.pathname) : undefined
    const entry: LoggedRequest = {
      method,
      path: url.pathname,
      query: queryRecord(url.searchParams),
      body: body.value,
      at: Date.now(),
      status: 0,
      ...(api ? {api} : {}),
      ...(operation?.operationId ? {operationId: operation.operationId} : {}),
    }
    this.#log.push(entry)
    this.#counters.requests += 1
    let problems: string[]
    if (!api) problems = [`${url.pathname} is outside Snyk's /v1 and /rest APIs`]
    else if (!operation) problems = [`no operation ${method} ${url.pathname} in Snyk's ${api} document (of those the emulator serves)`]
    else problems = this.#validator.checkRequest(api, operation, {method, path: url.pathname, query: url.search.slice(1), headers: req.headers, body: body.value})
    if (problems.length > 0) this.#record('request', entry, problems)
    return {method, url, api, operation, headers: req.headers, body: body.value, entry, problems}
  }

  #answer(exchange: Exchange): EmulatorResponse {
    const {api, operation, url} = exchange
    if (!api || !operation?.operationId) return apiError(api ?? 'rest', 404, `${url.pathname} not found`)
    const admission = this.#admit(exchange, api, operation)
    if ('status' in admission) return withRestHeaders(api, admission)
    const handler = HANDLERS[api][operation.operationId]
    if (!handler) throw new Error(`no handler for ${operation.operationId}`)
    const context: OperationContext = {
      world: this.world,
      validator: this.#validator,
      origin: this.url,
      org: admission.org,
      params: admission.params,
      query: url.searchParams,
      body: exchange.body,
      restPath: url.pathname.slice(API_ROOTS.rest.length),
      linkStyle: this.#linkStyle,
      version: admission.version,
      reject: (rejected) => {
        const details = rejected.map((problem) => (typeof problem === 'string' ? problem : problem.detail))
        this.#record('request', exchange.entry, details)
        return api === 'v1' ? v1Error(400, details.join('; ')) : restError(400, rejected)
      },
    }
    return withRestHeaders(api, handler(context), admission.version)
  }

  /** Auth (401), rate limit (429), contract (400), REST version (400/404), org access (404/403), in this order. */
  #admit(exchange: Exchange, api: ApiName, operation: ContractOperation): Admission | EmulatorResponse {
    const token = tokenOf(exchange.headers.authorization)
    if (token === undefined || !this.world.isKnownToken(token)) {
      return apiError(api, 401, token === undefined ? 'Authorization header with a token is required' : 'Not authorised')
    }
    const decision = this.#limiter.admit(token)
    if (!decision.allowed) {
      this.#counters.tooManyRequests += 1
      this.#counters.rateLimited += 1
      const response = apiError(api, 429, 'Too many requests, please try again later')
      const retryAfter: Record<string, string> = decision.retryAfterSeconds === undefined ? {} : {'retry-after': String(decision.retryAfterSeconds)}
      return {...response, headers: {...response.headers, ...retryAfter}}
    }
    if (exchange.problems.length > 0) return api === 'v1' ? v1Error(400, exchange.problems.join('; ')) : restError(400, exchange.problems)

    let version: ResolvedVersion | undefined
    if (api === 'rest') {
      const resolution = resolveVersion(exchange.url.searchParams.get('version') ?? '', this.#validator.releases(operation))
      if (!resolution.ok) {
        this.#record('request', exchange.entry, [resolution.detail])
        return restError(resolution.status, [{detail: resolution.detail, source: {parameter: 'version'}}])
      }
      version = resolution.version
    }

    const params = this.#validator.params(api, operation, exchange.url.pathname)
    const orgId = params['orgId'] ?? params['org_id'] ?? ''
    const access = this.world.access(token, orgId)
    const org = this.world.org(orgId)
    if (access === 'unknown-org' || !org) return apiError(api, 404, `org ${orgId} not found`)
    if (access === 'forbidden') return apiError(api, 403, `this token may not use org ${orgId}`)
    return {org, params, version}
  }

  /** Records our own off-contract responses (429s are not documented, so not checked). */
  #checkResponse(exchange: Exchange, response: EmulatorResponse): void {
    const {api, operation} = exchange
    if (!api || !operation || response.status === 429) return
    const body = typeof response.body === 'string' ? undefined : response.body
    const problems = this.#validator.checkResponse(api, operation, {status: response.status, headers: response.headers, body})
    if (problems.length > 0) this.#record('response', exchange.entry, problems)
  }

  #record(direction: ContractViolation['direction'], entry: Pick<LoggedRequest, 'method' | 'path' | 'operationId'>, messages: string[]): void {
    const violation: ContractViolation = {
      direction,
      method: entry.method,
      path: entry.path,
      ...(entry.operationId ? {operationId: entry.operationId} : {}),
      messages,
      at: Date.now(),
    }
    this.#violations.push(violation)
    this.#onViolation?.(violation)
  }

  /** Waits `ms`; false when the emulator closed meanwhile. */
  async #delay(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, {signal: this.#closing.signal})
      return true
    } catch {
      return false
    }
  }

  /** A bug of ours (or a client gone mid-request, which is not one). */
  #internalError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (this.#closing.signal.aborted || req.socket.destroyed) return
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error)
    this.#record('response', {method: req.method ?? 'GET', path: req.url ?? '/'}, [`emulator error: ${detail}`])
    if (!res.headersSent && !res.destroyed) sendResponse(res, restError(500, ['emulator error']))
  }
}

export function startSnykEmulator(options: SnykEmulatorOptions = {}): Promise<SnykEmulator> {
  return SnykEmulator.start(options)
}

function apiOf(pathname: string): ApiName | undefined {
  if (pathname === API_ROOTS.v1 || pathname.startsWith(`${API_ROOTS.v1}/`)) return 'v1'
  if (pathname === API_ROOTS.rest || pathname.startsWith(`${API_ROOTS.rest}/`)) return 'rest'
  return undefined
}

/** `token <t>` (API tokens) or `bearer <t>` (service accounts, OAuth), any case. */
function tokenOf(authorization: string | undefined): string | undefined {
  const match = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization ?? '')
  return match?.[1]
}

/** REST answers carry `snyk-request-id` and, once the version is resolved, the `snyk-version-*` headers. */
function withRestHeaders(api: ApiName, response: EmulatorResponse, version?: ResolvedVersion): EmulatorResponse {
  if (api !== 'rest') return response
  const headers: Record<string, string> = {...response.headers, 'snyk-request-id': randomUUID()}
  if (version) {
    headers['snyk-version-requested'] = version.requested
    headers['snyk-version-served'] = version.served
    headers['snyk-version-lifecycle-stage'] = version.stage
  }
  return {...response, headers}
}

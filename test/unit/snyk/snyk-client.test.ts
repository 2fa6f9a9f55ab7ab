import assert from 'node:assert/strict'
import {inspect} from 'node:util'
import {describe, it} from 'node:test'
import type {TestContext} from 'node:test'
import {MockAgent} from 'undici'
import type {MockInterceptor} from 'undici/types/mock-interceptor.js'
import {UsageError} from '../../../src/errors.ts'
import {parseRetryAfter} from '../../../src/snyk/retry-after.ts'
import {SNYK_REST_VERSION, SnykClient} from '../../../src/snyk/snyk-client.ts'
import {authErrorFrom, SnykHttpError} from '../../../src/snyk/snyk-http-error.ts'

const API = 'https://api.snyk.test'
const TOKEN = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'
const ORG = '6e225e08-7e52-4ded-aa4a-b8c0b40f97f9'
const INTEGRATION = 'bff7ceba-bbc4-47b3-8946-e9598837dbc8'
const JOB = 'dd363769-be1b-4a00-899a-c86a6d684c97'
const never = new AbortController().signal

function setup(t: TestContext, options: {requestTimeoutMs?: number; now?: () => number} = {}): {client: SnykClient; agent: MockAgent; pool: ReturnType<MockAgent['get']>} {
  const agent = new MockAgent()
  agent.disableNetConnect()
  t.after(() => agent.close())
  const client = new SnykClient({token: TOKEN, apiBase: API, dispatcher: agent, ...options})
  return {client, agent, pool: agent.get(API)}
}

/** Everything an error exposes: message, stack, cause chain, enumerable fields. */
function everythingIn(error: unknown): string {
  const parts = [inspect(error, {depth: 10, showHidden: true})]
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 10; current = current.cause, depth += 1) {
    parts.push(current.message, current.stack ?? '', JSON.stringify(current))
  }
  return parts.join('\n')
}

async function failure(promise: Promise<unknown>): Promise<SnykHttpError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof SnykHttpError, `expected a SnykHttpError, got ${inspect(error)}`)
    return error
  }
  return assert.fail('expected a failure')
}

describe('SnykClient requests', () => {
  it('lists integrations (v1) with the token header and the Content-Type v1 requires', async (t) => {
    const {client, pool} = setup(t)
    let headers: Record<string, string> = {}
    pool.intercept({path: `/v1/org/${ORG}/integrations`, method: 'GET'}).reply((options: MockInterceptor.MockResponseCallbackOptions) => {
      headers = options.headers as Record<string, string>
      return {statusCode: 200, data: {'docker-hub': INTEGRATION, ecr: 'e1'}, responseOptions: {headers: {'content-type': 'application/json; charset=utf-8'}}}
    })
    assert.deepEqual(await client.listIntegrations(ORG, never), {'docker-hub': INTEGRATION, ecr: 'e1'})
    assert.equal(headers['authorization'], `token ${TOKEN}`)
    assert.equal(headers['content-type'], 'application/json; charset=utf-8')
  })

  it('imports an image and rebuilds the job URL from Location on the configured API base', async (t) => {
    const {client, pool} = setup(t)
    let body = ''
    pool.intercept({path: `/v1/org/${ORG}/integrations/${INTEGRATION}/import`, method: 'POST'}).reply((options: MockInterceptor.MockResponseCallbackOptions) => {
      body = String(options.body)
      return {statusCode: 201, data: '', responseOptions: {headers: {location: `https://elsewhere.example/api/v1/org/${ORG}/integrations/${INTEGRATION}/import/${JOB}`}}}
    })
    const submission = await client.importImage(ORG, INTEGRATION, 'library/nginx:1.27', never)
    assert.deepEqual(JSON.parse(body), {target: {name: 'library/nginx:1.27'}})
    assert.deepEqual(submission, {jobUrl: `${API}/v1/org/${ORG}/integrations/${INTEGRATION}/import/${JOB}`, jobId: JOB})
  })

  it('fails an import answered without Location, and does not retry it', async (t) => {
    const {client, pool} = setup(t)
    pool.intercept({path: `/v1/org/${ORG}/integrations/${INTEGRATION}/import`, method: 'POST'}).reply(201, '')
    const error = await failure(client.importImage(ORG, INTEGRATION, 'library/nginx:1.27', never))
    assert.equal(error.kind, 'bad-response')
    assert.equal(error.retryable, false)
  })

  it('reads an import job and its projects; refuses a job URL on another host without sending', async (t) => {
    const {client, pool} = setup(t)
    const jobUrl = `${API}/v1/org/${ORG}/integrations/${INTEGRATION}/import/${JOB}`
    pool.intercept({path: new URL(jobUrl).pathname, method: 'GET'}).reply(200, {
      id: JOB,
      status: 'complete',
      created: '2024-01-01T00:00:00Z',
      logs: [{name: 'library/nginx:1.27', status: 'complete', created: '2024-01-01T00:00:00Z', projects: [{targetFile: '', success: true, projectUrl: 'https://app.snyk.io/org/o/project/p1', projectId: 'p1'}]}],
    })
    const job = await client.getImportJob(jobUrl, never)
    assert.equal(job.status, 'complete')
    assert.deepEqual(job.projects.map((project) => project.projectId), ['p1'])
    await assert.rejects(client.getImportJob(`https://evil.example/v1/org/${ORG}/integrations/${INTEGRATION}/import/${JOB}`, never), UsageError)
  })

  it('lists projects with issue counts, following relative, /rest-relative and absolute next links', async (t) => {
    const {client, pool} = setup(t)
    const seen: string[] = []
    const page = (ids: string[], next?: string) => (options: MockInterceptor.MockResponseCallbackOptions) => {
      seen.push(options.path)
      return {
        statusCode: 200,
        data: {
          jsonapi: {version: '1.0'},
          data: ids.map((id) => ({type: 'project', id, attributes: {name: `n-${id}`, type: 'deb', origin: 'docker-hub'}, meta: {latest_issue_counts: {critical: 1, high: 2, medium: 3, low: 4, updated_at: 'x'}}})),
          links: next ? {next} : {},
        },
        responseOptions: {headers: {'content-type': 'application/vnd.api+json'}},
      }
    }
    const base = `/orgs/${ORG}/projects?version=${SNYK_REST_VERSION}&limit=100&meta.latest_issue_counts=true`
    pool.intercept({path: (path) => path.startsWith(`/rest/orgs/${ORG}/projects?`) && !path.includes('starting_after')}).reply(page(['a'], `${base}&starting_after=c1`))
    pool.intercept({path: (path) => path.includes('starting_after=c1')}).reply(page(['b'], `/rest${base}&starting_after=c2`))
    pool.intercept({path: (path) => path.includes('starting_after=c2')}).reply(page(['c'], `${API}/rest${base}&starting_after=c3`))
    pool.intercept({path: (path) => path.includes('starting_after=c3')}).reply(page(['d']))
    const projects = await client.listProjects(ORG, {}, never)
    assert.deepEqual(projects.map((project) => project.id), ['a', 'b', 'c', 'd'])
    assert.deepEqual(projects[0]?.issueCounts, {critical: 1, high: 2, medium: 3, low: 4, updatedAt: 'x'})
    assert.equal(seen.length, 4)
    for (const path of seen) {
      const query = new URL(path, API).searchParams
      assert.equal(query.get('version'), SNYK_REST_VERSION)
      assert.equal(query.get('meta.latest_issue_counts'), 'true')
    }
  })

  it('refuses a pagination link to another host (the token must not follow it)', async (t) => {
    const {client, pool} = setup(t)
    pool.intercept({path: (path) => path.startsWith(`/rest/orgs/${ORG}/projects`)}).reply(200, {data: [], links: {next: 'https://evil.example/rest/orgs/x/projects'}})
    const error = await failure(client.listProjects(ORG, {}, never))
    assert.equal(error.kind, 'bad-response')
    assert.equal(error.retryable, false)
  })

  it('splits a long ids filter over several queries', async (t) => {
    const {client, pool} = setup(t)
    const ids = Array.from({length: 120}, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)
    const asked: string[][] = []
    pool
      .intercept({path: (path) => path.startsWith(`/rest/orgs/${ORG}/projects`)})
      .reply((options: MockInterceptor.MockResponseCallbackOptions) => {
        const chunk = (new URL(options.path, API).searchParams.get('ids') ?? '').split(',')
        asked.push(chunk)
        return {statusCode: 200, data: {data: chunk.map((id) => ({type: 'project', id, attributes: {name: id, type: 'deb'}})), links: {}}}
      })
      .persist()
    const projects = await client.listProjects(ORG, {ids}, never)
    assert.ok(asked.length > 1)
    assert.ok(asked.every((chunk) => chunk.join(',').length <= 1800))
    assert.deepEqual(projects.map((project) => project.id), ids)
  })
})

describe('SnykClient failures', () => {
  const importPath = `/v1/org/${ORG}/integrations/${INTEGRATION}/import`
  const cases: Array<{status: number; retryable: boolean; headers?: Record<string, string>; retryAfterMs?: number}> = [
    {status: 400, retryable: false},
    {status: 401, retryable: false},
    {status: 403, retryable: false},
    {status: 404, retryable: false},
    {status: 429, retryable: true, headers: {'retry-after': '120'}, retryAfterMs: 120_000},
    {status: 429, retryable: true},
    {status: 500, retryable: true},
    {status: 503, retryable: true, headers: {'retry-after': '3'}, retryAfterMs: 3000},
  ]
  for (const {status, retryable, headers, retryAfterMs} of cases) {
    it(`${status}${headers ? ' with Retry-After' : ''}: retryable ${retryable}, Snyk's message kept`, async (t) => {
      const {client, pool} = setup(t)
      pool.intercept({path: importPath, method: 'POST'}).reply(status, {code: status, message: `the reason ${status}`, error: 'x'}, {headers: headers ?? {}})
      const error = await failure(client.importImage(ORG, INTEGRATION, 'library/nginx:1.27', never))
      assert.equal(error.kind, 'http')
      assert.equal(error.status, status)
      assert.equal(error.retryable, retryable)
      assert.equal(error.retryAfterMs, retryAfterMs)
      assert.equal(error.code, `SNYK_HTTP_${status}`)
      assert.match(error.message, new RegExp(`^Snyk answered ${status} .* to POST ${importPath}: the reason ${status}$`))
    })
  }

  it('reads JSON:API error details from REST answers', async (t) => {
    const {client, pool} = setup(t)
    pool.intercept({path: (path) => path.startsWith('/rest/')}).reply(400, {jsonapi: {version: '1.0'}, errors: [{status: '400', detail: 'version is required'}]})
    const error = await failure(client.listProjects(ORG, {}, never))
    assert.equal(error.detail, 'version is required')
  })

  it('a body that is not JSON is a retryable bad response', async (t) => {
    const {client, pool} = setup(t)
    pool.intercept({path: `/v1/org/${ORG}/integrations`}).reply(200, '{"data": [{"id": "')
    const error = await failure(client.listIntegrations(ORG, never))
    assert.equal(error.kind, 'bad-response')
    assert.equal(error.retryable, true)
  })

  it('a connection error is a retryable network failure', async (t) => {
    const {client, pool} = setup(t)
    pool.intercept({path: `/v1/org/${ORG}/integrations`}).replyWithError(Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'}))
    const error = await failure(client.listIntegrations(ORG, never))
    assert.equal(error.kind, 'network')
    assert.equal(error.retryable, true)
    assert.match(error.message, /ECONNRESET/)
  })

  it('no answer within requestTimeoutMs is a retryable timeout', async (t) => {
    const {client, pool} = setup(t, {requestTimeoutMs: 50})
    pool.intercept({path: `/v1/org/${ORG}/integrations`}).reply(200, {}).delay(1000)
    const error = await failure(client.listIntegrations(ORG, never))
    assert.equal(error.kind, 'timeout')
    assert.equal(error.retryable, true)
  })

  it("the caller's abort rejects with the caller's reason, not a SnykHttpError", async (t) => {
    const {client, pool} = setup(t)
    pool.intercept({path: `/v1/org/${ORG}/integrations`}).reply(200, {}).delay(1000)
    const controller = new AbortController()
    const reason = new Error('SIGINT')
    setTimeout(() => controller.abort(reason), 20)
    await assert.rejects(client.listIntegrations(ORG, controller.signal), (error) => error === reason)
  })

  it('never puts the token in a message, stack, cause or field, even when the answer or the error repeats it', async (t) => {
    const {client, pool} = setup(t)
    pool.intercept({path: importPath, method: 'POST'}).reply(401, {code: 401, message: `token ${TOKEN} is not valid`, error: 'Not authorised'})
    pool.intercept({path: importPath, method: 'POST'}).reply(500, `<html>bad token ${TOKEN}</html>`)
    pool.intercept({path: `/v1/org/${ORG}/integrations`}).replyWithError(new Error(`proxy refused authorization: token ${TOKEN}`, {cause: new Error(`inner ${TOKEN}`)}))
    const errors = [
      await failure(client.importImage(ORG, INTEGRATION, 'library/nginx:1.27', never)),
      await failure(client.importImage(ORG, INTEGRATION, 'library/nginx:1.27', never)),
      await failure(client.listIntegrations(ORG, never)),
    ]
    const auth = errors[0] ? authErrorFrom(errors[0], ORG) : assert.fail()
    for (const error of [...errors, auth]) {
      const text = everythingIn(error)
      assert.ok(!text.includes(TOKEN), `token found in:\n${text}`)
      assert.ok(error === auth || text.includes('[REDACTED]'), 'the repeated token was redacted, not dropped silently')
    }
    assert.equal(auth.exitCode, 2)
    assert.equal(auth.code, 'SNYK_TOKEN_REJECTED')
  })
})

describe('SnykClient configuration', () => {
  it('normalises --api (trailing slash, /v1 or /rest) and refuses what is not an http(s) base URL', () => {
    for (const apiBase of ['https://api.eu.snyk.io/', 'https://api.eu.snyk.io/v1', 'https://api.eu.snyk.io/rest/']) {
      assert.equal(new SnykClient({token: TOKEN, apiBase, dispatcher: new MockAgent()}).apiBase, 'https://api.eu.snyk.io')
    }
    for (const apiBase of ['api.snyk.io', 'ftp://api.snyk.io', 'https://user:pw@api.snyk.io']) {
      assert.throws(() => new SnykClient({token: TOKEN, apiBase, dispatcher: new MockAgent()}), UsageError)
    }
    assert.throws(() => new SnykClient({token: ' ', dispatcher: new MockAgent()}), UsageError)
  })
})

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, clamps to [0, 10 min], ignores garbage', () => {
    const now = Date.parse('2024-06-01T12:00:00Z')
    assert.equal(parseRetryAfter('7', now), 7000)
    assert.equal(parseRetryAfter('0', now), 0)
    assert.equal(parseRetryAfter('Sat, 01 Jun 2024 12:00:30 GMT', now), 30_000)
    assert.equal(parseRetryAfter('Sat, 01 Jun 2024 11:00:00 GMT', now), 0)
    assert.equal(parseRetryAfter('86400', now), 600_000)
    assert.equal(parseRetryAfter(undefined, now), undefined)
    assert.equal(parseRetryAfter('soon', now), undefined)
    assert.equal(parseRetryAfter('-5', now), undefined)
    assert.equal(parseRetryAfter(['2', '9'], now), 2000)
  })
})

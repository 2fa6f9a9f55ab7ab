// The Snyk client and the submission core against the Snyk emulator (contract validation on: an
// off-contract request fails the test through the fixture's after-hook).
import assert from 'node:assert/strict'
import {inspect} from 'node:util'
import {describe, it} from 'node:test'
import type {TestContext} from 'node:test'
import {Agent} from 'undici'
import {AuthError} from '../../src/errors.ts'
import {SnykClient} from '../../src/snyk/snyk-client.ts'
import type {SnykClientOptions} from '../../src/snyk/snyk-client.ts'
import {SnykHttpError} from '../../src/snyk/snyk-http-error.ts'
import {waitForImportJob} from '../../src/submit/import-waiter.ts'
import {LimiterRegistry} from '../../src/submit/limiter-registry.ts'
import {SubmissionCore} from '../../src/submit/submission-core.ts'
import type {SubmissionCoreOptions, SubmissionEvents} from '../../src/submit/submission-core.ts'
import type {SnykEmulator, SnykEmulatorOptions} from '../emulator/snyk-emulator.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'

const TOKEN = '5b1d3f0e-7c2a-4e8b-9f61-0a2b3c4d5e6f'

interface Harness {
  readonly snyk: SnykEmulator
  readonly client: SnykClient
  readonly core: SubmissionCore
  readonly events: Array<{event: keyof SubmissionEvents; args: unknown[]; at: number}>
  /** Imports `name` through the org's docker-hub integration. */
  submit(name: string): Promise<{jobUrl: string}>
}

async function harness(
  t: TestContext,
  options: {emulator?: SnykEmulatorOptions; client?: Partial<SnykClientOptions>; core?: Partial<SubmissionCoreOptions>} = {},
): Promise<Harness> {
  const snyk = await withSnykEmulator(t, {token: TOKEN, ...options.emulator})
  const agent = new Agent()
  t.after(() => agent.close())
  const token = options.client?.token ?? snyk.token
  const client = new SnykClient({token, apiBase: snyk.url, dispatcher: agent, requestTimeoutMs: 2000, ...options.client})
  const core = new SubmissionCore({
    token,
    registry: new LimiterRegistry(),
    concurrency: 8,
    ratePerMinute: 60_000,
    backoff: {minTimeoutMs: 20, maxTimeoutMs: 500},
    orgId: snyk.orgId,
    ...options.core,
  })
  t.after(() => core.close())
  const events: Harness['events'] = []
  for (const event of ['sent', 'succeeded', 'retrying', 'failed', 'paused', 'resumed', 'rate-changed', 'circuit-open', 'circuit-closed', 'stopped'] as const) {
    core.on(event, (...args: unknown[]) => events.push({event, args, at: Date.now()}))
  }
  const integration = snyk.integrationId('docker-hub')
  const orgId = options.core?.orgId ?? snyk.orgId
  return {
    snyk,
    client,
    core,
    events,
    submit: (name) => core.run(`import ${name}`, (signal) => client.importImage(orgId, integration, name, signal)),
  }
}

function eventsOf<K extends keyof SubmissionEvents>(events: Harness['events'], name: K): Array<SubmissionEvents[K][0]> {
  return events.filter((entry) => entry.event === name).map((entry) => entry.args[0] as SubmissionEvents[K][0])
}

/** Answers to import requests that were accepted (201). */
function accepted(snyk: SnykEmulator, name: string): number {
  return snyk.importsOf(name).filter((entry) => entry.status === 201).length
}

function assertNoToken(error: unknown, token: string): void {
  const parts = [inspect(error, {depth: 10, showHidden: true})]
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 10; current = current.cause, depth += 1) {
    parts.push(current.message, current.stack ?? '', JSON.stringify(current))
  }
  const text = parts.join('\n')
  assert.ok(!text.includes(token), `the token appears in:\n${text}`)
}

describe('submission core + Snyk emulator: the happy path', () => {
  it('discovers integrations, imports, polls the job to complete and reads the project with issue counts and SBOM', async (t) => {
    const {snyk, client, core, submit} = await harness(t)
    const integrations = await core.run('integrations', (signal) => client.listIntegrations(snyk.orgId, signal))
    assert.equal(integrations['docker-hub'], snyk.integrationId('docker-hub'))
    snyk.setIssueCounts('library/nginx:1.27', {critical: 1, high: 2, medium: 3, low: 4})

    const {jobUrl} = await submit('library/nginx:1.27')
    const result = await waitForImportJob(core, client, jobUrl, {timeoutMs: 5000, intervalMs: 20})
    assert.equal(result.status, 'complete')
    const [project] = result.job?.projects ?? []
    assert.ok(project)
    assert.equal(snyk.requestsFor('Getimportjobdetails').length, result.polls)

    const projects = await client.listProjects(snyk.orgId, {ids: [project.projectId]}, core.signal, core.run.bind(core))
    assert.deepEqual(projects.map((p) => [p.id, p.name, p.issueCounts?.critical, p.issueCounts?.low]), [[project.projectId, 'library/nginx:1.27', 1, 4]])
    const sbom = await core.run('sbom', (signal) => client.getProjectSbom(snyk.orgId, project.projectId, signal))
    assert.equal(sbom.bomFormat, 'CycloneDX')
  })

  it('follows REST pagination through the core, one limiter slot per page', async (t) => {
    const {snyk, client, core, submit} = await harness(t, {emulator: {linkStyle: 'relative'}})
    const names = Array.from({length: 25}, (_, i) => `team/app-${i}:1.0`)
    const jobs = await Promise.all(names.map((name) => submit(name)))
    await Promise.all(jobs.map(({jobUrl}) => waitForImportJob(core, client, jobUrl, {timeoutMs: 5000, intervalMs: 10})))
    const projects = await client.listProjects(snyk.orgId, {limit: 10}, core.signal, core.run.bind(core))
    assert.deepEqual(projects.map((p) => p.name).sort(), [...names].sort())
    assert.equal(snyk.requestsFor('listOrgProjects').length, 3)
  })

  it('many concurrent imports: exactly one import request per target', async (t) => {
    const {snyk, submit} = await harness(t, {core: {concurrency: 16}})
    const names = Array.from({length: 300}, (_, i) => `bulk/app-${i}:1.0`)
    await Promise.all(names.map((name) => submit(name)))
    for (const name of names) assert.equal(snyk.importsOf(name).length, 1, name)
    assert.equal(snyk.world.jobs.length, names.length)
  })
})

describe('submission core + Snyk emulator: rate limits', () => {
  it('emulator rate limit with Retry-After: every worker pauses, nothing is lost, one accepted import per target', async (t) => {
    const {snyk, submit, events} = await harness(t, {emulator: {rateLimit: {requests: 5, windowMs: 1000, retryAfter: true}}})
    const names = Array.from({length: 12}, (_, i) => `limited/app-${i}:1.0`)
    await Promise.all(names.map((name) => submit(name)))
    for (const name of names) assert.equal(accepted(snyk, name), 1, name)
    assert.ok(snyk.stats.rateLimited > 0)
    assert.ok(eventsOf(events, 'paused').every((event) => event.reason === 'retry-after'))
    // no request reached Snyk while a pause was on
    const pauses = events.filter((entry) => entry.event === 'paused')
    assert.ok(pauses.length >= 2)
    for (const pause of pauses) {
      const {durationMs} = pause.args[0] as SubmissionEvents['paused'][0]
      const during = snyk.requests.filter((entry) => entry.at > pause.at + 20 && entry.at < pause.at + durationMs - 20)
      assert.deepEqual(during.map((entry) => entry.path), [], 'requests during a pause')
    }
  })

  it('emulator rate limit without Retry-After: pauses until the window ends and converges to the limit', async (t) => {
    const {snyk, submit, events, core} = await harness(t, {
      emulator: {rateLimit: {requests: 10, windowMs: 1000}},
      core: {ratePerMinute: 40, minuteMs: 1000},
    })
    const names = Array.from({length: 30}, (_, i) => `window/app-${i}:1.0`)
    const started = performance.now()
    await Promise.all(names.map((name) => submit(name)))
    const elapsed = performance.now() - started
    for (const name of names) assert.equal(accepted(snyk, name), 1, name)
    assert.equal(eventsOf(events, 'paused')[0]?.reason, 'window')
    // lowered to what the window allowed (later it may climb back by 10% per quiet period of two windows)
    const lowest = Math.min(...eventsOf(events, 'rate-changed').map((event) => event.ratePerMinute))
    assert.ok(lowest <= 10, `rate lowered to ${lowest}`)
    assert.ok(core.lane.gate.ratePerMinute < 40)
    // 30 requests at 10 per window need a bit over 2 windows; far fewer 429s than requests
    assert.ok(elapsed < 6000, `took ${elapsed} ms`)
    assert.ok(snyk.stats.rateLimited <= 10, `${snyk.stats.rateLimited} rate-limited answers`)
  })

  for (const retryAfterSeconds of [1, undefined]) {
    it(`a 429 fault ${retryAfterSeconds ? 'with' : 'without'} Retry-After is retried after a pause`, async (t) => {
      const {snyk, submit, events} = await harness(t, {core: {minuteMs: 600}})
      snyk.faults.push({when: {operationId: 'Importtargets'}, fault: {kind: '429', ...(retryAfterSeconds ? {retryAfterSeconds} : {})}})
      const started = performance.now()
      await submit('library/redis:7')
      assert.equal(snyk.importsOf('library/redis:7').length, 2)
      assert.equal(accepted(snyk, 'library/redis:7'), 1)
      const [paused] = eventsOf(events, 'paused')
      assert.equal(paused?.reason, retryAfterSeconds ? 'retry-after' : 'window')
      if (retryAfterSeconds) assert.ok(performance.now() - started >= 990)
    })
  }
})

describe('submission core + Snyk emulator: faults', () => {
  it('5xx, then success', async (t) => {
    const {snyk, submit, events} = await harness(t)
    snyk.faults.push({when: {operationId: 'Importtargets', times: 2}, fault: {kind: 'status', status: 503}})
    await submit('library/nginx:1')
    assert.deepEqual(snyk.importsOf('library/nginx:1').map((entry) => entry.status), [503, 503, 201])
    assert.deepEqual(eventsOf(events, 'retrying').map((event) => event.reason), ['503 from Snyk', '503 from Snyk'])
  })

  it('connection reset, then success', async (t) => {
    const {snyk, submit, events} = await harness(t)
    snyk.faults.push({when: {operationId: 'Importtargets'}, fault: {kind: 'reset'}})
    await submit('library/nginx:2')
    assert.equal(accepted(snyk, 'library/nginx:2'), 1)
    assert.deepEqual(eventsOf(events, 'retrying').map((event) => event.reason), ['network'])
  })

  it('hang, timeout, retry', async (t) => {
    const {snyk, submit, events} = await harness(t, {client: {requestTimeoutMs: 200}})
    snyk.faults.push({when: {operationId: 'Importtargets'}, fault: {kind: 'hang'}})
    const started = performance.now()
    await submit('library/nginx:3')
    assert.ok(performance.now() - started >= 200)
    assert.equal(accepted(snyk, 'library/nginx:3'), 1)
    assert.deepEqual(eventsOf(events, 'retrying').map((event) => event.reason), ['timeout'])
  })

  it('malformed and truncated job bodies are retried', async (t) => {
    const {snyk, client, core, submit, events} = await harness(t)
    snyk.faults.push({when: {operationId: 'Getimportjobdetails'}, fault: {kind: 'malformed'}}, {when: {operationId: 'Getimportjobdetails', after: 1}, fault: {kind: 'truncated'}})
    const {jobUrl} = await submit('library/nginx:4')
    const result = await waitForImportJob(core, client, jobUrl, {timeoutMs: 5000, intervalMs: 10})
    assert.equal(result.status, 'complete')
    assert.deepEqual(eventsOf(events, 'retrying').map((event) => event.reason), ['bad-response', 'network'])
  })

  it('the circuit opens when the API keeps failing, and closes when it answers again', async (t) => {
    const {snyk, submit, events} = await harness(t, {core: {concurrency: 1, maxRetries: 8, breaker: {failureThreshold: 3, cooldownMs: 200}}})
    snyk.faults.push({when: {operationId: 'Importtargets', times: 4}, fault: {kind: 'status', status: 502}})
    await submit('library/nginx:5')
    assert.deepEqual(events.filter((entry) => entry.event.startsWith('circuit')).map((entry) => entry.event), ['circuit-open', 'circuit-open', 'circuit-closed'])
    assert.equal(snyk.importsOf('library/nginx:5').length, 5)
  })

  it('an unknown integration (404) fails the image at once', async (t) => {
    const {snyk, client, core} = await harness(t)
    await assert.rejects(
      core.run('import', (signal) => client.importImage(snyk.orgId, '00000000-0000-4000-8000-000000000000', 'library/nginx:1', signal)),
      (error) => error instanceof SnykHttpError && error.status === 404,
    )
    assert.equal(snyk.requestsFor('Importtargets').length, 1)
    assert.equal(core.signal.aborted, false)
  })

  it('a target name the integration refuses (400) fails the image at once', async (t) => {
    const {snyk, submit} = await harness(t)
    await assert.rejects(submit('docker.io/library/nginx:1'), (error) => error instanceof SnykHttpError && error.status === 400 && /registry host/.test(error.message))
    assert.equal(snyk.requestsFor('Importtargets').length, 1)
    // the emulator records the refused name as off-contract, which is what this test sends on purpose
    assert.equal(snyk.takeViolations().length, 1)
  })
})

describe('submission core + Snyk emulator: authentication', () => {
  it('401 (unknown token) stops the run: AuthError, nothing sent after it, token in no error', async (t) => {
    const wrongToken = 'ffffffff-0000-4000-8000-000000000001'
    const {snyk, submit} = await harness(t, {client: {token: wrongToken}, core: {concurrency: 4}})
    const results = await Promise.allSettled(Array.from({length: 20}, (_, i) => submit(`library/app-${i}:1`)))
    assert.ok(results.every((result) => result.status === 'rejected' && result.reason instanceof AuthError && result.reason.code === 'SNYK_TOKEN_REJECTED'))
    assert.ok(snyk.requests.length <= 4, `${snyk.requests.length} requests`)
    const firstAnswer = snyk.requests.find((entry) => entry.status === 401)
    assert.ok(firstAnswer)
    for (const result of results) if (result.status === 'rejected') assertNoToken(result.reason, wrongToken)
  })

  it('403 (an org the token may not use) stops the run with an AuthError naming the org', async (t) => {
    const limited = 'aaaaaaaa-0000-4000-8000-00000000000a'
    const theirs = 'c0ffee00-0000-4000-8000-000000000002'
    const snykOptions: SnykEmulatorOptions = {orgs: [{slug: 'mine'}, {slug: 'theirs', id: theirs}], tokens: [{token: limited, orgs: ['mine']}]}
    const {snyk, submit} = await harness(t, {emulator: snykOptions, client: {token: limited}, core: {orgId: theirs}})
    await assert.rejects(submit('library/nginx:1'), (error) => {
      assert.ok(error instanceof AuthError)
      assert.equal(error.code, 'SNYK_ORG_FORBIDDEN')
      assert.match(error.message, new RegExp(theirs))
      assertNoToken(error, limited)
      return true
    })
    assert.equal(snyk.requests.length, 1)
  })

  it('the token never appears in any error the core or client produces', async (t) => {
    const {snyk, submit, client, core} = await harness(t, {core: {maxRetries: 1}, client: {requestTimeoutMs: 100}})
    snyk.faults.push(
      {when: {operationId: 'Importtargets', times: 2}, fault: {kind: 'status', status: 500}},
      {when: {operationId: 'List', times: 2}, fault: {kind: 'hang'}},
      {when: {operationId: 'Getimportjobdetails', times: 2}, fault: {kind: 'malformed'}},
    )
    const errors: unknown[] = []
    await submit('library/nginx:1').catch((error: unknown) => errors.push(error))
    await core.run('integrations', (signal) => client.listIntegrations(snyk.orgId, signal)).catch((error: unknown) => errors.push(error))
    const {jobUrl} = await submit('library/nginx:2')
    await core.run('poll', (signal) => client.getImportJob(jobUrl, signal)).catch((error: unknown) => errors.push(error))
    await submit('library/nginx:1@sha256:' + 'a'.repeat(64)).catch((error: unknown) => errors.push(error))
    snyk.takeViolations()
    assert.equal(errors.length, 4)
    for (const error of errors) assertNoToken(error, snyk.token)
  })
})

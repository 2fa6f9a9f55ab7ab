/**
 * The Snyk emulator, observed as a client sees it: real HTTP, Snyk's documented paths and shapes.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {TestContext} from 'node:test'
import {getContractValidator} from '../emulator/contract-validator.ts'
import {startSnykEmulator} from '../emulator/snyk-emulator.ts'
import type {SnykEmulator, SnykEmulatorOptions} from '../emulator/snyk-emulator.ts'
import type {ContainerIntegrationType} from '../emulator/target-name-rules.ts'
import {finishSnykEmulator, restLink, snykHeaders, withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'

const VERSION = '2024-10-15'

interface ImportJobBody {
  id: string
  status: string
  created: string
  logs: Array<{name: string; status: string; projects: Array<{targetFile: string; success: boolean; projectUrl: string; projectId: string}>}>
}

interface ProjectsPage {
  data: Array<{id: string; attributes: {name: string; type: string}; meta?: {latest_issue_counts?: Record<string, unknown>}}>
  links: {self: string; first: string; next?: string; prev?: string}
}

function importUrl(snyk: SnykEmulator, type: ContainerIntegrationType): string {
  return `${snyk.url}/v1/org/${snyk.orgId}/integrations/${snyk.integrationId(type)}/import`
}

function submitImport(snyk: SnykEmulator, type: ContainerIntegrationType, name: string, headers = snykHeaders(snyk, 'v1')): Promise<Response> {
  return fetch(importUrl(snyk, type), {method: 'POST', headers, body: JSON.stringify({target: {name}})})
}

async function pollJob(snyk: SnykEmulator, location: string): Promise<ImportJobBody> {
  const response = await fetch(location, {headers: snykHeaders(snyk, 'v1')})
  assert.equal(response.status, 200)
  return (await response.json()) as ImportJobBody
}

/** Imports `name` and polls its job until it settles. */
async function importAndSettle(snyk: SnykEmulator, type: ContainerIntegrationType, name: string): Promise<ImportJobBody> {
  const response = await submitImport(snyk, type, name)
  assert.equal(response.status, 201)
  const location = response.headers.get('location') ?? assert.fail('no Location header')
  for (let poll = 0; poll < 10; poll += 1) {
    const job = await pollJob(snyk, location)
    if (job.status !== 'pending') return job
  }
  return assert.fail(`import of ${name} never settled`)
}

function restGet(snyk: SnykEmulator, path: string, query: Record<string, string> = {}, token = snyk.token): Promise<Response> {
  const search = new URLSearchParams({version: VERSION, ...query})
  return fetch(`${snyk.url}/rest${path}?${search.toString()}`, {headers: snykHeaders(snyk, 'rest', token)})
}

async function listProjects(snyk: SnykEmulator, query: Record<string, string> = {}): Promise<ProjectsPage> {
  const response = await restGet(snyk, `/orgs/${snyk.orgId}/projects`, query)
  assert.equal(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /^application\/vnd\.api\+json/)
  return (await response.json()) as ProjectsPage
}

/** Starts an emulator for a test that breaks the contract on purpose: violations are the test's to check. */
async function withLenientEmulator(t: TestContext, options: SnykEmulatorOptions = {}): Promise<SnykEmulator> {
  const snyk = await startSnykEmulator(options)
  t.after(() => snyk.close())
  return snyk
}

describe('Snyk emulator: importing an image (v1)', () => {
  it('answers 201 with an empty body and a Location, then the job is pending, then complete with its project', async (t) => {
    const snyk = await withSnykEmulator(t)
    const response = await submitImport(snyk, 'docker-hub', 'library/nginx:1.27')
    assert.equal(response.status, 201)
    assert.equal(await response.text(), '')
    const location = response.headers.get('location') ?? ''
    assert.match(location, new RegExp(`^${snyk.url}/v1/org/${snyk.orgId}/integrations/${snyk.integrationId('docker-hub')}/import/[0-9a-f-]{36}$`))

    const pending = await pollJob(snyk, location)
    assert.equal(pending.status, 'pending')
    assert.deepEqual(pending.logs.map((log) => log.name), ['library/nginx:1.27'])

    const complete = await pollJob(snyk, location)
    assert.equal(complete.status, 'complete')
    const [project] = complete.logs[0]?.projects ?? []
    assert.ok(project?.success)
    assert.match(project.projectUrl, new RegExp(`/project/${project.projectId}$`))

    const {data} = await listProjects(snyk)
    assert.deepEqual(data.map((p) => [p.id, p.attributes.name]), [[project.projectId, 'library/nginx:1.27']])
  })

  it('keeps a job pending for the configured number of polls', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 3}})
    const location = (await submitImport(snyk, 'ecr', 'app:1.0')).headers.get('location') ?? ''
    const statuses = []
    for (let poll = 0; poll < 4; poll += 1) statuses.push((await pollJob(snyk, location)).status)
    assert.deepEqual(statuses, ['pending', 'pending', 'pending', 'complete'])
  })

  it('keeps a job pending for the configured time, however often it is polled', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingMs: 150}})
    const location = (await submitImport(snyk, 'ecr', 'app:1.0')).headers.get('location') ?? ''
    assert.equal((await pollJob(snyk, location)).status, 'pending')
    assert.equal((await pollJob(snyk, location)).status, 'pending')
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal((await pollJob(snyk, location)).status, 'complete')
  })

  it('fails imports of targets matching failImports (string, RegExp, predicate) and creates no project', async (t) => {
    const snyk = await withSnykEmulator(t)
    const undo = snyk.failImports('library/broken:1')
    snyk.failImports(/^bad\//)
    snyk.failImports((name, integration) => integration.type === 'gcr' && name.endsWith(':fail'))

    for (const [type, name] of [['docker-hub', 'library/broken:1'], ['docker-hub', 'bad/image:2'], ['gcr', 'proj/app:fail']] as const) {
      const job = await importAndSettle(snyk, type, name)
      assert.equal(job.status, 'failed', name)
      assert.equal(job.logs[0]?.status, 'failed')
      assert.deepEqual(job.logs[0]?.projects, [])
    }
    assert.equal((await importAndSettle(snyk, 'gcr', 'proj/app:ok')).status, 'complete')
    assert.deepEqual((await listProjects(snyk)).data.map((p) => p.attributes.name), ['proj/app:ok'])

    undo()
    assert.equal((await importAndSettle(snyk, 'docker-hub', 'library/broken:1')).status, 'complete')
  })

  it('re-importing the same target through the same integration yields the same project', async (t) => {
    const snyk = await withSnykEmulator(t)
    const first = await importAndSettle(snyk, 'quay-cr', 'team/api:2.0')
    const second = await importAndSettle(snyk, 'quay-cr', 'team/api:2.0')
    assert.notEqual(first.id, second.id)
    assert.equal(first.logs[0]?.projects[0]?.projectId, second.logs[0]?.projects[0]?.projectId)
    assert.equal((await listProjects(snyk)).data.length, 1)
    assert.equal(snyk.importsOf('team/api:2.0').length, 2)
  })

  describe('target names, per integration type', () => {
    const cases: Array<{type: ContainerIntegrationType; valid: string[]; invalid: string[]}> = [
      {
        type: 'docker-hub',
        valid: ['library/nginx:1.27', 'bitnami/redis:7.2.4-debian-12-r0'],
        invalid: ['nginx:1.27', 'docker.io/library/nginx:1.27', 'library/nginx', 'a/b/c:1', 'library/nginx@sha256:' + 'a'.repeat(64)],
      },
      {
        type: 'ecr',
        valid: ['app:1.0', 'team/app:1.0'],
        invalid: ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0', 'app', 'app:'],
      },
      {
        type: 'acr',
        valid: ['samples/hello:v1'],
        invalid: ['myregistry.azurecr.io/samples/hello:v1'],
      },
      {
        type: 'gcr',
        valid: ['my-project/app:1', 'my-project/team/app:1'],
        invalid: ['app:1', 'gcr.io/my-project/app:1', 'localhost/app:1', 'my-project//app:1'],
      },
      {
        type: 'github-cr',
        valid: ['octo-org/service:sha-1234abc'],
        invalid: ['ghcr.io/octo-org/service:latest', 'service:latest'],
      },
    ]

    for (const {type, valid, invalid} of cases) {
      it(`${type}: accepts ${valid.join(', ')}`, async (t) => {
        const snyk = await withSnykEmulator(t)
        for (const name of valid) assert.equal((await submitImport(snyk, type, name)).status, 201, name)
      })

      it(`${type}: rejects ${invalid.length} malformed names with 400 and records them`, async (t) => {
        const snyk = await withLenientEmulator(t)
        for (const name of invalid) {
          const response = await submitImport(snyk, type, name)
          assert.equal(response.status, 400, name)
          const body = (await response.json()) as {code: number; message: string; error: string}
          assert.equal(body.code, 400)
          assert.match(body.message, /target\.name/)
        }
        const violations = snyk.takeViolations()
        assert.equal(violations.length, invalid.length)
        assert.ok(violations.every((v) => v.direction === 'request' && v.operationId === 'Importtargets'))
        assert.equal(snyk.world.jobs.length, 0)
      })
    }

    it('rejects a body without target.name and a body that is not JSON', async (t) => {
      const snyk = await withLenientEmulator(t)
      const post = (body: string, contentType = 'application/json; charset=utf-8') =>
        fetch(importUrl(snyk, 'docker-hub'), {method: 'POST', headers: {...snykHeaders(snyk, 'v1'), 'content-type': contentType}, body})
      assert.equal((await post('{"target": {"owner": "x"}}')).status, 400)
      assert.equal((await post('target=library/nginx:1', 'application/x-www-form-urlencoded')).status, 400)
      const messages = snyk.takeViolations().flatMap((v) => v.messages)
      assert.ok(messages.some((m) => /target\.name is required/.test(m)), messages.join('\n'))
      assert.ok(messages.some((m) => /Content-Type "application\/x-www-form-urlencoded"/.test(m)), messages.join('\n'))
    })
  })
})

describe('Snyk emulator: v1 integrations', () => {
  it('lists the container registry integrations as a map from type to id, and gets one by type', async (t) => {
    const snyk = await withSnykEmulator(t, {orgs: [{slug: 'one', integrations: ['docker-hub', {type: 'ecr', id: '11111111-2222-4333-8444-555555555555'}]}]})
    const response = await fetch(`${snyk.url}/v1/org/${snyk.orgId}/integrations`, {headers: snykHeaders(snyk, 'v1')})
    assert.equal(response.status, 200)
    assert.match(response.headers.get('content-type') ?? '', /^application\/json; charset=utf-8/)
    assert.deepEqual(await response.json(), {'docker-hub': snyk.integrationId('docker-hub'), ecr: '11111111-2222-4333-8444-555555555555'})

    const byType = await fetch(`${snyk.url}/v1/org/${snyk.orgId}/integrations/ecr`, {headers: snykHeaders(snyk, 'v1')})
    assert.deepEqual(await byType.json(), {id: '11111111-2222-4333-8444-555555555555'})
    const missing = await fetch(`${snyk.url}/v1/org/${snyk.orgId}/integrations/gcr`, {headers: snykHeaders(snyk, 'v1')})
    assert.equal(missing.status, 404)
  })

  it('builds the same ids from the same seed', async (t) => {
    const a = await withSnykEmulator(t, {seed: 'same'})
    const b = await withSnykEmulator(t, {seed: 'same'})
    const c = await withSnykEmulator(t, {seed: 'other'})
    assert.equal(a.orgId, b.orgId)
    assert.deepEqual(a.integrations(), b.integrations())
    assert.notEqual(a.orgId, c.orgId)
    const projectIdOf = async (snyk: SnykEmulator) => (await importAndSettle(snyk, 'docker-hub', 'library/redis:7')).logs[0]?.projects[0]?.projectId
    assert.equal(await projectIdOf(a), await projectIdOf(b))
  })
})

describe('Snyk emulator: REST projects', () => {
  async function seedProjects(snyk: SnykEmulator, count: number): Promise<string[]> {
    const names = Array.from({length: count}, (_, i) => `library/image-${String(i).padStart(2, '0')}:1.${i}`)
    for (const name of names) await importAndSettle(snyk, 'docker-hub', name)
    return names
  }

  it('pages with limit and links.next (relative to the REST base, as Snyk) to the end, and back with links.prev', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 0}})
    const names = await seedProjects(snyk, 25)

    const pages: ProjectsPage[] = [await listProjects(snyk, {limit: '10'})]
    assert.match(pages[0]?.links.first ?? '', new RegExp(`^/orgs/${snyk.orgId}/projects\\?`))
    while (pages.at(-1)?.links.next) {
      const response = await fetch(restLink(snyk, pages.at(-1)?.links.next ?? ''), {headers: snykHeaders(snyk, 'rest')})
      assert.equal(response.status, 200)
      pages.push((await response.json()) as ProjectsPage)
    }
    assert.deepEqual(pages.map((page) => page.data.length), [10, 10, 5])
    assert.deepEqual(pages.flatMap((page) => page.data.map((p) => p.attributes.name)), names)
    assert.equal(pages[0]?.links.prev, undefined)

    const back = await fetch(restLink(snyk, pages[1]?.links.prev ?? ''), {headers: snykHeaders(snyk, 'rest')})
    assert.deepEqual(((await back.json()) as ProjectsPage).data.map((p) => p.id), pages[0]?.data.map((p) => p.id))
  })

  it('can give absolute or /rest-prefixed links instead', async (t) => {
    for (const linkStyle of ['absolute', 'rest-relative'] as const) {
      const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 0}, linkStyle})
      await seedProjects(snyk, 11)
      const {links} = await listProjects(snyk, {limit: '10'})
      const expected = linkStyle === 'absolute' ? `${snyk.url}/rest/orgs/` : '/rest/orgs/'
      assert.ok(links.next?.startsWith(expected), links.next)
      const next = await fetch(restLink(snyk, links.next ?? ''), {headers: snykHeaders(snyk, 'rest')})
      assert.equal(((await next.json()) as ProjectsPage).data.length, 1)
    }
  })

  it('filters by ids and names (comma-separated), and by types', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 0}})
    await seedProjects(snyk, 4)
    await importAndSettle(snyk, 'docker-hub', 'library/alpine:3.20')
    const all = (await listProjects(snyk)).data
    const wanted = [all[1], all[3]].map((p) => p?.id ?? '')
    assert.deepEqual((await listProjects(snyk, {ids: wanted.join(',')})).data.map((p) => p.id), wanted)
    assert.deepEqual((await listProjects(snyk, {names: 'library/image-00:1.0,library/alpine:3.20'})).data.map((p) => p.attributes.name), [
      'library/image-00:1.0',
      'library/alpine:3.20',
    ])
    assert.deepEqual((await listProjects(snyk, {types: 'apk'})).data.map((p) => p.attributes.name), ['library/alpine:3.20'])
  })

  it('adds meta.latest_issue_counts on request: deterministic per name, overridable by the test', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 0}})
    await importAndSettle(snyk, 'docker-hub', 'library/nginx:1.27')
    await importAndSettle(snyk, 'docker-hub', 'library/httpd:2.4')
    assert.equal((await listProjects(snyk)).data[0]?.meta, undefined)

    const counts = (await listProjects(snyk, {'meta.latest_issue_counts': 'true'})).data.map((p) => p.meta?.latest_issue_counts)
    for (const count of counts) {
      assert.deepEqual(Object.keys(count ?? {}).sort(), ['critical', 'high', 'low', 'medium', 'updated_at'])
    }
    const again = (await listProjects(snyk, {'meta.latest_issue_counts': 'true'})).data.map((p) => p.meta?.latest_issue_counts)
    assert.deepEqual(again, counts)

    snyk.setIssueCounts('library/nginx:1.27', {critical: 1, high: 2, medium: 3, low: 4})
    const [nginx] = (await listProjects(snyk, {names: 'library/nginx:1.27', 'meta.latest_issue_counts': 'true'})).data
    const {updated_at: updatedAt, ...severities} = nginx?.meta?.latest_issue_counts ?? {}
    assert.deepEqual(severities, {critical: 1, high: 2, medium: 3, low: 4})
    assert.equal(typeof updatedAt, 'string')
  })

  it('answers the version it served in snyk-version-* headers', async (t) => {
    const snyk = await withSnykEmulator(t)
    const response = await restGet(snyk, `/orgs/${snyk.orgId}/projects`, {version: '2024-10-15'})
    assert.equal(response.headers.get('snyk-version-requested'), '2024-10-15')
    assert.equal(response.headers.get('snyk-version-served'), '2024-05-31')
    assert.match(response.headers.get('snyk-request-id') ?? '', /^[0-9a-f-]{36}$/)
  })
})

describe('Snyk emulator: REST versions and the contract', () => {
  it('rejects a request without version with a JSON:API 400 and records the violation', async (t) => {
    const snyk = await withLenientEmulator(t)
    const response = await fetch(`${snyk.url}/rest/orgs/${snyk.orgId}/projects`, {headers: snykHeaders(snyk, 'rest')})
    assert.equal(response.status, 400)
    assert.match(response.headers.get('content-type') ?? '', /^application\/vnd\.api\+json/)
    const body = (await response.json()) as {jsonapi: {version: string}; errors: Array<{status: string; detail: string}>}
    assert.equal(body.jsonapi.version, '1.0')
    assert.equal(body.errors[0]?.status, '400')
    assert.match(body.errors[0]?.detail ?? '', /version/)
    const [violation] = snyk.takeViolations()
    assert.equal(violation?.operationId, 'listOrgProjects')
    assert.ok(violation?.messages.some((message) => /required property 'version'/.test(message)))
  })

  it('rejects impossible and future versions (400) and versions the endpoint has no release for (404)', async (t) => {
    const snyk = await withLenientEmulator(t)
    const projects = `/orgs/${snyk.orgId}/projects`
    assert.equal((await restGet(snyk, projects, {version: '2024-13-45'})).status, 400)
    assert.equal((await restGet(snyk, projects, {version: '2024-02-30'})).status, 400)
    assert.equal((await restGet(snyk, projects, {version: '2999-01-01'})).status, 400)
    assert.equal((await restGet(snyk, projects, {version: '2021-01-01'})).status, 404)
    assert.equal((await restGet(snyk, `/orgs/${snyk.orgId}/integrations`, {version: '2024-10-15'})).status, 404, 'integrations is beta only')
    assert.equal((await restGet(snyk, `/orgs/${snyk.orgId}/integrations`, {version: '2024-10-15~beta'})).status, 200)
    assert.equal(snyk.takeViolations().length, 5)
  })

  it('rejects an off-contract request on purpose: it appears in violations and assertNoViolations throws', async (t) => {
    const snyk = await withLenientEmulator(t)
    const response = await restGet(snyk, `/orgs/${snyk.orgId}/projects`, {limit: '15', sort: 'name'})
    assert.equal(response.status, 400)
    assert.equal(snyk.violations.length, 1)
    const messages = snyk.violations[0]?.messages ?? []
    assert.ok(messages.some((m) => /limit must be multiple of 10/.test(m)), messages.join('\n'))
    assert.ok(messages.some((m) => /additional properties: sort/.test(m)), messages.join('\n'))
    assert.throws(() => snyk.assertNoViolations(), (error: Error) => {
      assert.match(error.message, /1 Snyk contract violation/)
      assert.match(error.message, new RegExp(`GET /rest/orgs/${snyk.orgId}/projects \\(listOrgProjects\\)`))
      return true
    })
    snyk.takeViolations()
    snyk.assertNoViolations()
  })

  it('records requests to undocumented endpoints and v1 requests without the documented Content-Type', async (t) => {
    const snyk = await withLenientEmulator(t)
    assert.equal((await restGet(snyk, `/orgs/${snyk.orgId}/targets`)).status, 404)
    assert.equal((await fetch(`${snyk.url}/api/v1/orgs`, {headers: snykHeaders(snyk, 'v1')})).status, 404)
    const noContentType = await fetch(`${snyk.url}/v1/org/${snyk.orgId}/integrations`, {headers: {authorization: `token ${snyk.token}`}})
    assert.equal(noContentType.status, 400)
    const messages = snyk.takeViolations().map((v) => v.messages.join(' '))
    assert.equal(messages.length, 3)
    assert.match(messages[0] ?? '', /no operation GET .*\/targets/)
    assert.match(messages[1] ?? '', /outside Snyk's \/v1 and \/rest/)
    assert.match(messages[2] ?? '', /content-type/)
  })

  it('checks its own responses too, with one validator compiled once per process', async (t) => {
    const validator = await getContractValidator()
    const operation = validator.match('rest', 'GET', `/rest/orgs/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/projects`) ?? assert.fail('no operation')
    const problems = validator.checkResponse('rest', operation, {
      status: 200,
      headers: {'content-type': 'application/json'},
      body: {jsonapi: {version: '1.0'}, data: [{id: 'p1', type: 'project', attributes: {name: 'x'}}], links: {}},
    })
    assert.ok(problems.some((p) => /Content-Type "application\/json" is not one documented/.test(p)), problems.join('\n'))
    assert.ok(problems.some((p) => /data\.0\.id must match format "uuid"/.test(p)), problems.join('\n'))
    assert.ok(problems.some((p) => /required property 'settings'/.test(p)), problems.join('\n'))

    const started = performance.now()
    const snyk = await withSnykEmulator(t)
    assert.ok(performance.now() - started < 500, 'a second emulator reuses the compiled validator')
    assert.equal(snyk.validatorStartupMs, validator.startupMs)
  })

  it("the fixture's after-hook fails the test when a violation was recorded", async () => {
    const clean = await startSnykEmulator()
    await fetch(`${clean.url}/v1/org/${clean.orgId}/integrations`, {headers: snykHeaders(clean, 'v1')})
    await finishSnykEmulator(clean)

    const dirty = await startSnykEmulator()
    await fetch(`${dirty.url}/rest/orgs/${dirty.orgId}/projects`, {headers: snykHeaders(dirty, 'rest')})
    await assert.rejects(finishSnykEmulator(dirty), /Snyk contract violation/)
  })
})

describe('Snyk emulator: auth', () => {
  const otherOrg = {slug: 'other-team'}

  it('answers 401 without a token or with an unknown one, in each API style', async (t) => {
    const snyk = await withSnykEmulator(t)
    const v1 = await fetch(`${snyk.url}/v1/org/${snyk.orgId}/integrations`, {headers: {'content-type': 'application/json; charset=utf-8'}})
    assert.equal(v1.status, 401)
    assert.deepEqual(await v1.json(), {code: 401, message: 'Authorization header with a token is required', error: 'Not authorised'})
    const rest = await fetch(`${snyk.url}/rest/orgs/${snyk.orgId}/projects?version=${VERSION}`, {headers: {authorization: 'token nope'}})
    assert.equal(rest.status, 401)
    assert.equal(((await rest.json()) as {errors: Array<{status: string}>}).errors[0]?.status, '401')
  })

  it('accepts `bearer` as well as `token`', async (t) => {
    const snyk = await withSnykEmulator(t)
    const response = await fetch(`${snyk.url}/rest/orgs/${snyk.orgId}/projects?version=${VERSION}`, {headers: {authorization: `bearer ${snyk.token}`}})
    assert.equal(response.status, 200)
  })

  it('answers 403 for an org the token may not use and 404 for an unknown org', async (t) => {
    const snyk = await withSnykEmulator(t, {token: 'admin-token', orgs: [{slug: 'main'}, otherOrg], tokens: [{token: 'team-token', orgs: ['other-team']}]})
    const main = snyk.orgId
    const other = snyk.world.orgs[1]?.id ?? ''
    assert.equal((await restGet(snyk, `/orgs/${other}/projects`, {}, 'team-token')).status, 200)
    assert.equal((await restGet(snyk, `/orgs/${main}/projects`, {}, 'team-token')).status, 403)
    assert.equal((await restGet(snyk, `/orgs/${main}/projects`, {}, 'admin-token')).status, 200)
    const v1 = await submitImport(snyk, 'docker-hub', 'library/nginx:1', snykHeaders(snyk, 'v1', 'team-token'))
    assert.equal(v1.status, 403)
    assert.equal(((await v1.json()) as {code: number}).code, 403)
    assert.equal((await restGet(snyk, '/orgs/00000000-0000-4000-8000-000000000000/projects')).status, 404)
  })
})

describe('Snyk emulator: rate limit', () => {
  it('answers 429 (JSON:API, no Retry-After by default) once the limit is hit, until the window passes', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.setRateLimit({requests: 3, windowMs: 300})
    const statuses = []
    for (let i = 0; i < 5; i += 1) statuses.push((await restGet(snyk, `/orgs/${snyk.orgId}/projects`)).status)
    assert.deepEqual(statuses, [200, 200, 200, 429, 429])
    const limited = await restGet(snyk, `/orgs/${snyk.orgId}/projects`)
    assert.equal(limited.headers.get('retry-after'), null)
    assert.equal(((await limited.json()) as {errors: Array<{status: string}>}).errors[0]?.status, '429')
    assert.equal(snyk.stats.tooManyRequests, 3)
    assert.equal(snyk.stats.rateLimited, 3)

    await new Promise((resolve) => setTimeout(resolve, 320))
    assert.equal((await restGet(snyk, `/orgs/${snyk.orgId}/projects`)).status, 200)
  })

  it('sends Retry-After when configured, and counts per token', async (t) => {
    const snyk = await withSnykEmulator(t, {tokens: [{token: 'second', orgs: []}], rateLimit: {requests: 1, windowMs: 1500, retryAfter: true}})
    assert.equal((await restGet(snyk, `/orgs/${snyk.orgId}/projects`)).status, 200)
    const limited = await restGet(snyk, `/orgs/${snyk.orgId}/projects`)
    assert.equal(limited.status, 429)
    assert.equal(limited.headers.get('retry-after'), '2')
    const v1 = await fetch(`${snyk.url}/v1/org/${snyk.orgId}/integrations`, {headers: snykHeaders(snyk, 'v1')})
    assert.equal(v1.status, 429)
    assert.equal(((await v1.json()) as {code: number}).code, 429)
    assert.equal((await restGet(snyk, `/orgs/${snyk.orgId}/projects`, {}, 'second')).status, 403, 'another token has its own window')
  })
})

describe('Snyk emulator: faults', () => {
  it('status: 5xx for the scripted number of requests, then the real answer', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({when: {operationId: 'Importtargets', times: 2}, fault: {kind: 'status', status: 503}})
    const first = await submitImport(snyk, 'docker-hub', 'library/nginx:1')
    assert.equal(first.status, 503)
    assert.equal(((await first.json()) as {code: number}).code, 503)
    assert.equal((await submitImport(snyk, 'docker-hub', 'library/nginx:1')).status, 503)
    assert.equal((await submitImport(snyk, 'docker-hub', 'library/nginx:1')).status, 201)
    assert.deepEqual(snyk.importsOf('library/nginx:1').map((entry) => [entry.status, entry.fault]), [[503, 'status'], [503, 'status'], [201, undefined]])
    assert.equal(snyk.world.jobs.length, 1)
  })

  it('status with a custom body, after letting requests through', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({when: {method: 'GET', path: /\/projects$/, after: 1}, fault: {kind: 'status', status: 502, body: 'Bad Gateway'}})
    assert.equal((await restGet(snyk, `/orgs/${snyk.orgId}/projects`)).status, 200)
    const faulted = await restGet(snyk, `/orgs/${snyk.orgId}/projects`)
    assert.equal(faulted.status, 502)
    assert.equal(await faulted.text(), 'Bad Gateway')
    assert.equal((await restGet(snyk, `/orgs/${snyk.orgId}/projects`)).status, 200)
  })

  it('reset: the client sees a network error', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({when: {operationId: 'listOrgProjects'}, fault: {kind: 'reset'}})
    await assert.rejects(restGet(snyk, `/orgs/${snyk.orgId}/projects`), TypeError)
    assert.equal((await restGet(snyk, `/orgs/${snyk.orgId}/projects`)).status, 200)
  })

  it('hang: only a client-side timeout ends the request, and close() does not wait for it', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({fault: {kind: 'hang'}})
    const url = `${snyk.url}/rest/orgs/${snyk.orgId}/projects?version=${VERSION}`
    await assert.rejects(fetch(url, {headers: snykHeaders(snyk, 'rest'), signal: AbortSignal.timeout(150)}), {name: 'TimeoutError'})
    assert.equal((await fetch(url, {headers: snykHeaders(snyk, 'rest')})).status, 200, 'the fault hit one request only')

    snyk.faults.push({fault: {kind: 'hang'}})
    const hung = fetch(url, {headers: snykHeaders(snyk, 'rest')}).catch((error: unknown) => error)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const started = performance.now()
    await snyk.close()
    assert.ok(performance.now() - started < 1000)
    assert.ok((await hung) instanceof TypeError, 'the client sees the connection close')
  })

  it('slow: the right answer, late', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({when: {operationId: 'listOrgProjects'}, fault: {kind: 'slow', delayMs: 200}})
    const started = performance.now()
    const response = await restGet(snyk, `/orgs/${snyk.orgId}/projects`)
    assert.ok(performance.now() - started >= 190)
    assert.equal(response.status, 200)
    assert.deepEqual(((await response.json()) as ProjectsPage).data, [])
  })

  it('malformed: 200 with a body that is not JSON', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({fault: {kind: 'malformed'}})
    const response = await restGet(snyk, `/orgs/${snyk.orgId}/projects`)
    assert.equal(response.status, 200)
    await assert.rejects(response.json(), SyntaxError)
  })

  it('truncated: the body ends before its Content-Length', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({fault: {kind: 'truncated'}})
    const response = await restGet(snyk, `/orgs/${snyk.orgId}/projects`)
    assert.equal(response.status, 200)
    await assert.rejects(response.text())
  })

  it('429 storm: the given number of 429s with Retry-After, then normal answers', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({when: {times: 3}, fault: {kind: '429', retryAfterSeconds: 1}})
    const answers = []
    for (let i = 0; i < 4; i += 1) {
      const response = await restGet(snyk, `/orgs/${snyk.orgId}/projects`)
      answers.push([response.status, response.headers.get('retry-after')])
    }
    assert.deepEqual(answers, [[429, '1'], [429, '1'], [429, '1'], [200, null]])
    assert.equal(snyk.stats.tooManyRequests, 3)
    assert.equal(snyk.stats.faultsInjected, 3)
    assert.equal(snyk.faults.pending, 0)
  })
})

describe('Snyk emulator: SBOM and REST integrations', () => {
  it('serves a CycloneDX JSON SBOM for a project, and the other documented formats', async (t) => {
    const snyk = await withSnykEmulator(t, {importJob: {pendingPolls: 0}})
    const job = await importAndSettle(snyk, 'docker-hub', 'library/nginx:1.27')
    const projectId = job.logs[0]?.projects[0]?.projectId ?? ''
    const sbom = (format?: string) => restGet(snyk, `/orgs/${snyk.orgId}/projects/${projectId}/sbom`, format ? {format} : {})

    const json = await sbom('cyclonedx1.6+json')
    assert.equal(json.status, 200)
    assert.equal(json.headers.get('content-type'), 'application/vnd.cyclonedx+json')
    const bom = (await json.json()) as {bomFormat: string; specVersion: string; serialNumber: string; metadata: {component: {type: string; name: string; version: string}}; components: Array<{purl: string}>}
    assert.equal(bom.bomFormat, 'CycloneDX')
    assert.equal(bom.specVersion, '1.6')
    assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f-]{36}$/)
    assert.deepEqual(bom.metadata.component, {type: 'container', 'bom-ref': '1-library/nginx@1.27', name: 'library/nginx', version: '1.27'})
    assert.ok(bom.components.length > 0 && bom.components.every((component) => component.purl.startsWith('pkg:deb/debian/')))

    const xml = await sbom('cyclonedx1.5+xml')
    assert.equal(xml.headers.get('content-type'), 'application/vnd.cyclonedx+xml')
    assert.match(await xml.text(), /^<\?xml[^]*<bom xmlns="http:\/\/cyclonedx.org\/schema\/bom\/1.5"/)
    assert.equal(((await (await sbom('spdx2.3+json')).json()) as {spdxVersion: string}).spdxVersion, 'SPDX-2.3')
    assert.deepEqual(await (await sbom()).json(), {jsonapi: {version: '1.0'}, data: {id: projectId, type: 'sbom'}})
    assert.equal((await restGet(snyk, `/orgs/${snyk.orgId}/projects/00000000-0000-4000-8000-000000000000/sbom`)).status, 404)
  })

  it('lists integrations as JSON:API resources (beta endpoint)', async (t) => {
    const snyk = await withSnykEmulator(t)
    const response = await restGet(snyk, `/orgs/${snyk.orgId}/integrations`, {version: '2024-10-15~beta', limit: '100'})
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('snyk-version-lifecycle-stage'), 'beta')
    const body = (await response.json()) as {data: Array<{type: string; id: string; attributes: {integration_type: string}}>}
    assert.deepEqual(Object.fromEntries(body.data.map((item) => [item.attributes.integration_type, item.id])), snyk.integrations())
    assert.ok(body.data.every((item) => item.type === 'integration'))
  })
})

describe('Snyk emulator: request log', () => {
  it('records method, path, query, parsed body, status and time, never the token', async (t) => {
    const snyk = await withSnykEmulator(t, {token: 'very-secret-token'})
    const before = Date.now()
    await submitImport(snyk, 'acr', 'samples/hello:v1')
    await restGet(snyk, `/orgs/${snyk.orgId}/projects`, {names: 'samples/hello:v1'})
    const [imported, listed] = snyk.requests
    assert.deepEqual(
      {...imported, at: undefined, answeredAt: undefined},
      {
        method: 'POST',
        path: `/v1/org/${snyk.orgId}/integrations/${snyk.integrationId('acr')}/import`,
        query: {},
        body: {target: {name: 'samples/hello:v1'}},
        at: undefined,
        answeredAt: undefined,
        status: 201,
        api: 'v1',
        operationId: 'Importtargets',
      },
    )
    assert.ok((imported?.at ?? 0) >= before)
    assert.ok((imported?.answeredAt ?? 0) >= (imported?.at ?? Infinity), 'answered after it arrived')
    assert.equal(imported?.clientGone, undefined, 'the client was there for the answer')
    assert.deepEqual(listed?.query, {version: VERSION, names: 'samples/hello:v1'})
    assert.equal(snyk.importsOf('samples/hello:v1').length, 1)
    assert.equal(snyk.requestsFor('listOrgProjects').length, 1)
    assert.ok(!JSON.stringify(snyk.requests).includes('very-secret-token'))
    snyk.clearRequests()
    assert.equal(snyk.requests.length, 0)
  })
})

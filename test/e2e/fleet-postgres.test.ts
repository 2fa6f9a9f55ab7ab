// The fleet store end to end: the built CLI through the real kubectl, three real clusters, the Snyk emulator and
// one real PostgreSQL database shared by every process (`--state postgres://...`), as a platform team runs it.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../controlplane/ports.ts'
import {PostgresServer} from '../controlplane/postgres-server.ts'
import {startPluginFixture, type PluginFixture} from '../helpers/plugin-fixture.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {expectedTargets} from '../helpers/sync-scenario.ts'

const clusters = ['fleet-a', 'fleet-b', 'fleet-c']

describe('kubectl snyk-watch on a shared PostgreSQL store', () => {
  let fixture: PluginFixture
  let postgres: PostgresServer
  before(async () => {
    ;[fixture, postgres] = await Promise.all([startPluginFixture(clusters), PostgresServer.start()])
  })
  after(async () => {
    await fixture?.stop()
    await postgres?.stop()
  })

  it('one sync per cluster, all at once: each unique image imported once for the fleet, status --by cluster shows every cluster', async (t) => {
    const snyk = await withSnykEmulator(t)
    // Slow imports: the three runs overlap on the images every cluster runs (nginx).
    snyk.faults.push({when: {operationId: 'Importtargets', times: Infinity}, fault: {kind: 'slow', delayMs: 150}})
    const database = await postgres.createDatabase('fleet')
    const env = {SNYK_TOKEN: snyk.token, SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url, SNYK_WATCH_STATE: database}
    const syncAll = () => Promise.all(clusters.map((context) => fixture.kubectl(['snyk-watch', 'sync', '--context', context, '-o', 'json'], env)))

    const runs = await syncAll()
    for (const run of runs) assert.equal(run.code, 0, run.stderr)
    for (const name of Object.keys(expectedTargets)) assert.equal(snyk.importsOf(name).length, 1, `${name} imported once for the fleet`)
    assert.equal(snyk.requests.filter((r) => r.method === 'POST').length, Object.keys(expectedTargets).length, 'nothing else was imported')
    const submitted = runs.map((run) => (JSON.parse(run.stdout) as {counts: {submitted: number}}).counts.submitted)
    assert.equal(submitted.reduce((a, b) => a + b, 0), Object.keys(expectedTargets).length)

    const status = await fixture.kubectl(['snyk-watch', 'status', '--by', 'cluster', '-o', 'json'], env)
    assert.equal(status.code, 0, status.stderr)
    const report = JSON.parse(status.stdout) as {statePath: string; groups: Array<{cluster: string; images: string[]}>; images: Array<{image: string; runsIn: {clusters: string[]}}>}
    assert.deepEqual(report.groups.map((group) => group.cluster).sort(), clusters)
    const nginx = report.images.find((image) => image.image.includes('library/nginx:1.27'))
    assert.deepEqual(nginx?.runsIn.clusters, clusters, 'the image every cluster runs, with its three clusters')
    assert.match(report.statePath, /^postgres:\/\/snyk_watch_admin:\*{5}@127\.0\.0\.1:\d+\/fleet_/)

    const again = await syncAll()
    for (const run of again) assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(again.map((run) => (JSON.parse(run.stdout) as {counts: {submitted: number}}).counts.submitted), [0, 0, 0], 'the second round imports nothing again')
    for (const run of [...runs, ...again, status]) assert.ok(!(run.stdout + run.stderr).includes(postgres.password), 'the password never appears')
  })

  it('a database that cannot be reached: sync exits 2 naming the server and the reason, never the password', async () => {
    const port = await freePort()
    const run = await fixture.kubectl(['snyk-watch', 'sync', '--context', clusters[0]!, '--state', `postgres://fleet:s3cret-pw@127.0.0.1:${port}/fleet`], {SNYK_TOKEN: 'token-1234', SNYK_WATCH_ORG: 'org'})
    assert.equal(run.code, 2, run.stderr)
    const said = run.stderr.replace(/\s+/g, ' ')
    assert.match(said, new RegExp(`cannot reach the PostgreSQL state database at 127\\.0\\.0\\.1:${port} \\(postgres://fleet:\\*{5}@`))
    assert.match(said, /ECONNREFUSED/)
    assert.match(said, /check that the server is running/)
    assert.doesNotMatch(run.stdout + run.stderr, /s3cret-pw/)
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
  })
})

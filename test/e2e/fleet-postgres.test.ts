// The fleet store end to end: the built CLI through the real kubectl, three real clusters, the Snyk emulator and
// one real PostgreSQL database shared by every process (`--state postgres://...`), as a platform team runs it.
import assert from 'node:assert/strict'
import type {ChildProcessWithoutNullStreams} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {after, before, describe, it, type TestContext} from 'node:test'
import {freePort} from '../controlplane/ports.ts'
import {PostgresServer} from '../controlplane/postgres-server.ts'
import {startPluginFixture, type PluginFixture} from '../helpers/plugin-fixture.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {expectedTargets} from '../helpers/sync-scenario.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import {followJsonLog} from '../helpers/json-log-lines.ts'
import {until} from '../helpers/watch-fixture.ts'
import type {SnykEmulator} from '../emulator/snyk-emulator.ts'

interface WatchProcess {
  child: ChildProcessWithoutNullStreams
  logs: Array<Record<string, unknown>>
  output: () => string
  exited: Promise<number | null>
  logged(pattern: RegExp): Array<Record<string, unknown>>
}

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

  const startWatch = (t: TestContext, snyk: SnykEmulator, database: string, args: string[]): WatchProcess => {
    const child = fixture.spawnKubectl(['snyk-watch', 'watch', '--state', database, '--listen', '127.0.0.1:0', ...args], {SNYK_TOKEN: snyk.token, SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url})
    child.stdin.end()
    let text = ''
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()))
    const {logs, logged} = followJsonLog(child.stderr)
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    return {child, logs, exited, output: () => text, logged}
  }

  it('two watch replicas on one database: the leader submits; after it is killed, the new leader submits nothing again', async (t) => {
    const snyk = await withSnykEmulator(t)
    const database = await postgres.createDatabase('ha')
    const cluster = fixture.set.fixtures[0]!
    await cluster.createNamespace('ha-apps')
    await cluster.createPod({name: 'one', namespace: 'ha-apps', containers: [{name: 'app', image: 'ghcr.io/acme/ha-one:1', digest: digestOf('ha-one')}]})
    const args = ['--context', clusters[0]!, '--cluster-name', clusters[0]!, '-n', 'ha-apps', '--leader-elect', '--leader-elect-namespace', 'default', '--leader-elect-name', 'snyk-watch-fleet', '--leader-elect-lease-duration', '3s']
    const a = startWatch(t, snyk, database, args)
    const b = startWatch(t, snyk, database, args)
    const leader = await until('a leader', () => [a, b].find((p) => p.logged(/^leading/).length > 0), 30_000)
    const standby = leader === a ? b : a
    await until('the first image', () => snyk.importsOf('acme/ha-one:1').length === 1, 30_000)
    await until('the standby following', () => standby.logged(/^following/).length > 0, 30_000)
    for (const replica of [a, b]) {
      // The URL with its password was on the command line: ps and /proc show it masked.
      const cmdline = readFileSync(`/proc/${replica.child.pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      assert.match(cmdline, /kubectl-snyk-watch watch --state postgres:\/\/snyk_watch_admin:\*{5}@/)
      assert.ok(!cmdline.includes(postgres.password), cmdline)
    }

    leader.child.kill('SIGKILL')
    await until('the standby leading', () => standby.logged(/^leading/).length > 0, 15_000)
    await cluster.createPod({name: 'two', namespace: 'ha-apps', containers: [{name: 'app', image: 'ghcr.io/acme/ha-two:1', digest: digestOf('ha-two')}]})
    await until('the new leader submitting', () => snyk.importsOf('acme/ha-two:1').length === 1, 30_000)
    assert.equal(snyk.importsOf('acme/ha-one:1').length, 1, 'the new leader, with its own process and the shared database, does not resubmit')
    standby.child.kill('SIGTERM')
    assert.equal(await standby.exited, 0)
    assert.ok(!(a.output() + b.output()).includes(postgres.password), 'the password never appears in the logs')
  })

  it('the database restarted mid-watch: /readyz turns 503 with the reason, streaming goes on, and what was found meanwhile is submitted once it is back', async (t) => {
    const snyk = await withSnykEmulator(t)
    const database = await postgres.createDatabase('outage')
    const cluster = fixture.set.fixtures[1]!
    await cluster.createNamespace('outage')
    await cluster.createPod({name: 'before', namespace: 'outage', containers: [{name: 'app', image: 'ghcr.io/acme/before:1', digest: digestOf('before')}]})
    const watch = startWatch(t, snyk, database, ['--context', clusters[1]!, '--cluster-name', clusters[1]!, '-n', 'outage'])
    const url = String((await until('serving', () => watch.logged(/^serving/)[0], 30_000))['url'])
    await until('the first image', () => snyk.importsOf('acme/before:1').length === 1, 30_000)
    await until('ready', async () => (await fetch(`${url}/readyz`)).status === 200)

    await postgres.stopServer()
    await cluster.createPod({name: 'during', namespace: 'outage', containers: [{name: 'app', image: 'ghcr.io/acme/during:1', digest: digestOf('during')}]})
    const notReady = await until('/readyz 503', async () => {
      const response = await fetch(`${url}/readyz`)
      const body = await response.text()
      return response.status === 503 ? body : undefined
    }, 30_000)
    assert.match(notReady, /state store does not answer/)
    assert.ok(!notReady.includes(postgres.password))
    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'alive all along')
    assert.equal(snyk.importsOf('acme/during:1').length, 0, 'nothing is submitted without a claim')

    await postgres.startServer()
    await until('the image found during the outage submitted', () => snyk.importsOf('acme/during:1').length === 1, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}; the watch said:\n${watch.output().slice(-6000)}`, {cause: error})
    })
    await until('ready again', async () => (await fetch(`${url}/readyz`)).status === 200, 30_000)
    assert.equal(snyk.importsOf('acme/before:1').length, 1, 'nothing submitted twice')
    watch.child.kill('SIGTERM')
    assert.equal(await watch.exited, 0)
  })
})

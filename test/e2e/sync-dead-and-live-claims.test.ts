// Claims of another run, with the built CLI as a child process (npm run build first), real API servers and the
// Snyk emulator: a run killed with SIGKILL mid-sync leaves its claims to the next run at once (same host, its pid is
// gone), and a run that meets the claims of a live run waits for that run's outcome, or reports the images in flight
// elsewhere with outcome partial and exit 3: never `succeeded` for images it neither submitted nor confirmed.
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {hostname} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import type {SnykEmulator} from '../emulator/snyk-emulator.ts'
import {startPluginFixture, type PluginFixture} from '../helpers/plugin-fixture.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {expectedTargets} from '../helpers/sync-scenario.ts'
import {parseIntegrationOptions} from '../../src/images/integration-map.ts'
import {loadKubeconfigs} from '../../src/kube/kubeconfig-loader.ts'
import {resolveTargets} from '../../src/kube/target.ts'
import {SilentProgress} from '../../src/render/sync-progress.ts'
import {SnykClient} from '../../src/snyk/snyk-client.ts'
import {openStateStore} from '../../src/state/state-store.ts'
import {SubmissionCore} from '../../src/submit/submission-core.ts'
import {createSnykSubmitter} from '../../src/submit/snyk-submitter.ts'
import type {SyncResult} from '../../src/sync/sync-result.ts'
import {runSync} from '../../src/sync/sync-service.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const node = path.join(root, 'node_modules', '.bin', 'node')
const importable = Object.keys(expectedTargets).length

interface Child {
  process: ChildProcess
  result: Promise<{code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string}>
}

describe('sync meets the claims of a dead run and of a live one', () => {
  let fixture: PluginFixture
  let kubeconfig: string
  before(async () => {
    fixture = await startPluginFixture(['claims-a', 'claims-b', 'claims-c'])
    kubeconfig = path.join(fixture.set.workDir, 'config')
  })
  after(() => fixture?.stop())

  const envOf = (snyk: SnykEmulator, state: string): NodeJS.ProcessEnv => ({SNYK_TOKEN: snyk.token, SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url, SNYK_WATCH_STATE: path.join(fixture.set.workDir, state)})

  /** The built CLI as a child process of its own (its pid is the run's pid in the store). */
  const startCli = (args: string[], env: NodeJS.ProcessEnv): Child => {
    const child = spawn(node, [path.join(root, 'bin', 'run.js'), ...args], {env: {PATH: process.env.PATH, HOME: fixture.set.workDir, KUBECONFIG: kubeconfig, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    // 'close': the process has exited and been reaped, so its pid is gone.
    const result = new Promise<{code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string}>((resolve) => child.on('close', (code, signal) => resolve({code, signal, stdout, stderr})))
    return {process: child, result}
  }

  const answeredImports = (snyk: SnykEmulator) => snyk.requests.filter((r) => r.operationId === 'Importtargets' && r.status === 201).length
  const until = async (what: string, ok: () => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await sleep(25)
    }
  }
  const assertEachImportedOnce = (snyk: SnykEmulator) => {
    for (const name of Object.keys(expectedTargets)) assert.equal(snyk.importsOf(name).length, 1, `${name} imported exactly once across both runs`)
  }

  it('kill -9 after 3 imports: an immediate rerun takes the dead run\'s claims over and imports the rest exactly once, and says so', async (t) => {
    const snyk = await withSnykEmulator(t)
    // Import jobs answer slowly: with --wait and --concurrency 1 the run spends its time polling a job, after
    // recording each import, so the kill lands between imports (none half sent).
    snyk.faults.push({when: {operationId: 'Getimportjobdetails', times: Infinity}, fault: {kind: 'slow', delayMs: 1500}})
    const env = envOf(snyk, 'killed.db')
    const first = startCli(['sync', '--all-contexts', '--wait', '--concurrency', '1', '-o', 'json'], env)
    await until('3 imports', () => answeredImports(snyk) >= 3)
    await sleep(400)
    first.process.kill('SIGKILL')
    const killed = await first.result
    assert.equal(killed.signal, 'SIGKILL')
    assert.equal(answeredImports(snyk), 3, 'killed after 3 of the imports')
    snyk.faults.clear()

    const started = Date.now()
    const rerun = await fixture.kubectl(['snyk-watch', 'sync', '--all-contexts', '-o', 'json'], env)
    assert.equal(rerun.code, 0, rerun.stderr)
    assert.ok(Date.now() - started < 30_000, 'the claims were taken over at once, not after a lease')
    const result = JSON.parse(rerun.stdout) as SyncResult
    assert.equal(result.outcome, 'succeeded')
    assert.equal(result.counts.inFlight, 0)
    assert.equal(result.counts.submitted, importable - 3)
    assert.equal(result.counts.unchanged, 3)
    const takenOver = result.images.filter((image) => image.takenOverFrom)
    assert.equal(takenOver.length, importable - 3, 'every image the dead run held is reported as taken over')
    assert.equal(new Set(takenOver.map((image) => image.takenOverFrom)).size, 1)
    assert.ok(takenOver.every((image) => image.result === 'submitted'))
    assertEachImportedOnce(snyk)

    // The text summary says so too.
    const again = await fixture.kubectl(['snyk-watch', 'sync', '--all-contexts'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.doesNotMatch(again.stdout, /took over/, 'nothing left to take over')
    assertEachImportedOnce(snyk)
  })

  it('a run meeting a live run\'s claims waits for its outcome and reports it; it never says succeeded for what it did not see done', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({when: {operationId: 'Importtargets', times: Infinity}, fault: {kind: 'slow', delayMs: 700}})
    const env = envOf(snyk, 'overlap-wait.db')
    const first = startCli(['sync', '--all-contexts', '--concurrency', '1', '-o', 'json'], env)
    // The first run has claimed every image once it sends its first import.
    await until('the first import', () => snyk.requests.some((r) => r.operationId === 'Importtargets'))
    const second = await fixture.kubectl(['snyk-watch', 'sync', '--all-contexts', '-o', 'json'], env)
    const one = await first.result
    assert.equal(one.code, 0, one.stderr)
    assert.equal(second.code, 0, second.stderr)
    const firstResult = JSON.parse(one.stdout) as SyncResult
    const secondResult = JSON.parse(second.stdout) as SyncResult
    assert.equal(firstResult.counts.submitted, importable)
    assert.equal(secondResult.counts.submitted, 0)
    assert.equal(secondResult.counts.inFlight, 0)
    assert.equal(secondResult.counts.unchanged, importable)
    // Submitted before the second run looked (the store says so), or while it waited (it says by whom).
    const reasons = secondResult.images.filter((image) => image.result === 'unchanged').map((image) => image.reason ?? '')
    const waited = reasons.filter((reason) => /^submitted by run [0-9a-f-]+ \(pid \d+ on .+\) at .+ while this run waited for it/.test(reason))
    assert.ok(waited.length > 0, JSON.stringify(reasons))
    assert.ok(reasons.every((reason) => waited.includes(reason) || /^submitted \S+; again after/.test(reason)), JSON.stringify(reasons))
    assert.ok(secondResult.images.filter((image) => image.reason && waited.includes(image.reason)).every((image) => image.reason!.includes(`pid ${first.process.pid} `)))
    assertEachImportedOnce(snyk)
  })

  it('a run waiting for a live run\'s claims takes them over at once when that run is killed', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({when: {operationId: 'Getimportjobdetails', times: Infinity}, fault: {kind: 'slow', delayMs: 1500}})
    const env = envOf(snyk, 'holder-killed.db')
    const first = startCli(['sync', '--all-contexts', '--wait', '--concurrency', '1', '-o', 'json'], env)
    await until('the first import', () => answeredImports(snyk) >= 1)
    const second = startCli(['sync', '--all-contexts', '-o', 'json'], env)
    await until('2 imports', () => answeredImports(snyk) >= 2)
    await sleep(400)
    first.process.kill('SIGKILL')
    const killedAt = Date.now()
    assert.equal((await first.result).signal, 'SIGKILL')
    const killedAfter = answeredImports(snyk)
    snyk.faults.clear()
    const two = await second.result
    assert.equal(two.code, 0, two.stderr)
    assert.ok(Date.now() - killedAt < 30_000, 'taken over at once, not after the lease')
    const result = JSON.parse(two.stdout) as SyncResult
    assert.equal(result.outcome, 'succeeded')
    assert.equal(result.counts.submitted, importable - killedAfter)
    assert.equal(result.counts.unchanged, killedAfter)
    assert.equal(result.images.filter((image) => image.takenOverFrom).length, importable - killedAfter)
    assertEachImportedOnce(snyk)
  })

  it('a run that stops waiting reports the images in flight elsewhere, with who holds them: partial, exit 3', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({when: {operationId: 'Importtargets', times: Infinity}, fault: {kind: 'slow', delayMs: 1000}})
    const env = envOf(snyk, 'overlap-partial.db')
    const first = startCli(['sync', '--all-contexts', '--concurrency', '1', '-o', 'json'], env)
    await until('the first import', () => snyk.requests.some((r) => r.operationId === 'Importtargets'))

    // The second run in this process, with a short bound on its wait (the CLI waits up to 5 minutes).
    const store = openStateStore(env.SNYK_WATCH_STATE!)
    const client = new SnykClient({token: snyk.token, apiBase: snyk.url})
    const signal = new AbortController().signal
    const core = new SubmissionCore({token: snyk.token, signal, orgId: snyk.orgId, concurrency: 1, ratePerMinute: 600, maxRetries: 0})
    let result: SyncResult
    try {
      result = await runSync({
        targets: resolveTargets(loadKubeconfigs({paths: [kubeconfig], env: {}, homeDir: fixture.set.workDir}), {contexts: [], allContexts: true}),
        scope: {namespaces: [], excludeNamespaces: [], skipJobPods: false},
        store,
        submitter: createSnykSubmitter({client, core, orgId: snyk.orgId, integrations: parseIntegrationOptions([]), waitTimeoutMs: 60_000}),
        progress: new SilentProgress(),
        clock: Date.now,
        signal,
        stop: new AbortController().signal,
        resubmitAfterMs: 86_400_000,
        wait: false,
        concurrency: 1,
        holderWaitMs: 1000,
      })
    } finally {
      core.close()
      await client.close()
      store.close()
    }
    assert.equal(result.outcome, 'partial')
    assert.equal(result.exitCode, 3)
    assert.equal(result.counts.submitted, 0)
    assert.ok(result.counts.inFlight > 0)
    const held = result.images.filter((image) => image.result === 'in-flight')
    assert.equal(held.length, result.counts.inFlight)
    for (const image of held) {
      assert.equal(image.heldBy?.pid, first.process.pid)
      assert.equal(image.heldBy?.host, hostname())
      assert.match(image.heldBy?.runId ?? '', /^[0-9a-f-]{36}$/)
      assert.ok(Date.parse(image.heldBy?.until ?? '') > Date.now(), 'held until a time to come')
      assert.match(image.reason ?? '', /is submitting it/)
    }
    const one = await first.result
    assert.equal(one.code, 0, one.stderr)
    assertEachImportedOnce(snyk)
  })
})

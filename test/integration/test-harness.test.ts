/**
 * `npm test`'s harness (scripts/test.ts) stops, reports and fails on the processes its own tests started,
 * and leaves alone a control plane it did not start: here, a cluster this test starts while the harness
 * run is going on, as a benchmark's or another test run's clusters would.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {processStartTime} from '../controlplane/process-ledger.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const FIXTURE = 'test/fixtures/harness/leaves-a-process.test.ts'

describe('the test harness', () => {
  let foreign: ClusterSet | undefined
  let scratch: string | undefined
  after(async () => {
    await foreign?.stop()
    if (scratch) await rm(scratch, {recursive: true, force: true})
  })

  it("stops and fails on what its tests left running, and leaves a foreign cluster's etcd and kube-apiserver alone", async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'snyk-watch-harness-'))
    const pidFile = path.join(scratch, 'leaked.pid')
    const goFile = path.join(scratch, 'go')
    // Without the test runner's own context, which would make the inner runner report to this one.
    const env: NodeJS.ProcessEnv = {...process.env, HARNESS_FIXTURE_PID_FILE: pidFile, HARNESS_FIXTURE_GO_FILE: goFile}
    delete env['NODE_TEST_CONTEXT']
    const harness = spawn(process.execPath, [path.join(root, 'scripts', 'test.ts'), FIXTURE], {cwd: root, env, stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    harness.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    harness.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const closed = new Promise<number>((resolve) => harness.once('close', (code) => resolve(code ?? 1)))

    // Once the fixture has left its process running, a foreign cluster appears during the harness run.
    while (!existsSync(pidFile)) {
      if (harness.exitCode !== null) assert.fail(`the harness ended before the fixture ran:\n${output}`)
      await sleep(100)
    }
    foreign = await startClusters(1, {names: ['foreign']})
    const cluster = foreign.clusters[0]!
    const foreignPids = cluster.pids
    assert.equal(foreignPids.length, 2, 'the foreign cluster runs etcd and kube-apiserver')
    const startTimes = foreignPids.map(processStartTime)
    await writeFile(goFile, '')

    const code = await closed
    const leaked = Number(await readFile(pidFile, 'utf8'))
    assert.equal(code, 1, `the harness fails when a test left a process running:\n${output}`)
    assert.match(output, new RegExp(`tests left processes they started running: ${leaked} sleep \\(stopped now\\)`), output)
    for (const pid of foreignPids) assert.doesNotMatch(output, new RegExp(`\\b${pid}\\b`), `the harness does not name foreign PID ${pid}`)
    assert.equal(processStartTime(leaked), undefined, 'the process the fixture left running was stopped')

    assert.deepEqual(foreignPids.map(processStartTime), startTimes, "the foreign cluster's etcd and kube-apiserver still run")
    assert.equal((await cluster.get('/readyz')).status, 200, 'and the foreign API server still answers')
  })
})

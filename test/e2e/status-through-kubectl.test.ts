// `kubectl snyk-watch status` as a user runs it after `sync --wait`, and the one-step gate `sync --fail-on`: the
// built CLI found by the real kubectl on PATH, real API servers, the Snyk emulator.
import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse as parseYaml} from 'yaml'
import type {ClusterSet} from '../helpers/clusters.ts'
import {startPluginFixture, type PluginFixture} from '../helpers/plugin-fixture.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {expectedTargets} from '../helpers/sync-scenario.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import type {StatusResult} from '../../src/status/status-result.ts'
import type {SyncResult} from '../../src/sync/sync-result.ts'

describe('kubectl snyk-watch status, end to end', () => {
  let fixture: PluginFixture
  let set: ClusterSet
  before(async () => {
    fixture = await startPluginFixture()
    set = fixture.set
  })
  after(() => fixture?.stop())

  const kubectl = (args: string[], env: NodeJS.ProcessEnv) => fixture.kubectl(args, env)

  it('sync --wait, then status --fail-on high: passes on clean counts, exits 1 naming the image once Snyk finds a high', async (t) => {
    const snyk = await withSnykEmulator(t)
    for (const name of Object.keys(expectedTargets)) snyk.setIssueCounts(name, {critical: 0, high: 0, medium: 4, low: 2})
    const env = {SNYK_TOKEN: snyk.token, SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url, SNYK_WATCH_STATE: path.join(set.workDir, 'e2e.db')}
    const synced = await kubectl(['snyk-watch', 'sync', '--all-contexts', '--wait'], env)
    assert.equal(synced.code, 0, synced.stderr)

    const clean = await kubectl(['snyk-watch', 'status', '--refresh', '--fail-on', 'high'], env)
    assert.equal(clean.code, 0, clean.stderr)
    assert.match(clean.stdout, /IMAGE\s+│ TAG/)
    assert.match(clean.stdout, /gate: passed \(--fail-on high\)/)
    assert.match(clean.stdout, /7 monitored/)
    assert.doesNotMatch(clean.stdout + clean.stderr, new RegExp(snyk.token))
    assert.doesNotMatch(clean.stderr, /ExperimentalWarning/)

    snyk.setIssueCounts('library/nginx:1.27', {critical: 0, high: 2, medium: 0, low: 0})
    const tripped = await kubectl(['snyk-watch', 'status', '--refresh', '--fail-on', 'high'], env)
    assert.equal(tripped.code, 1, tripped.stderr)
    assert.match(tripped.stdout, /gate: FAILED \(--fail-on high\): 1 image with high or worse issues: docker\.io\/library\/nginx:1\.27/)

    // Offline, from the stored counts, and from the environment: the same gate, as JSON.
    const json = await kubectl(['snyk-watch', 'status', '-o', 'json'], {...env, SNYK_WATCH_FAIL_ON: 'high', SNYK_TOKEN: ''})
    assert.equal(json.code, 1, json.stderr)
    const result = JSON.parse(json.stdout) as StatusResult
    assert.equal(result.outcome, 'gate-tripped')
    assert.equal(result.gate?.tripped, true)
    assert.deepEqual(result.gate?.images.map((i) => i.image), ['docker.io/library/nginx:1.27'])

    const yaml = await kubectl(['snyk-watch', 'status', '-o', 'yaml', '--by', 'namespace', '--fail-on', 'critical'], env)
    assert.equal(yaml.code, 0, yaml.stderr)
    const parsed = parseYaml(yaml.stdout) as StatusResult
    assert.deepEqual(parsed.groups?.map((g) => `${g.cluster}/${g.namespace}`), ['e2e-a/shop', 'e2e-b/shop', 'e2e-c/shop'])
    assert.equal(parsed.gate?.tripped, false)
  })

  it('sync --fail-on, one step: waits for the imports, reads the counts; 0 clean, 1 naming the image (annotated in GitHub Actions), 1 over 3, 3 on a partial clean run, 2 on a mistake; --fail-on-new judges new images only', async (t) => {
    const snyk = await withSnykEmulator(t)
    for (const name of Object.keys(expectedTargets)) snyk.setIssueCounts(name, {critical: 0, high: 0, medium: 1, low: 0})
    const env = {SNYK_TOKEN: snyk.token, SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url, SNYK_WATCH_STATE: path.join(set.workDir, 'gate.db')}
    const sync = async (...args: string[]) => {
      const run = await kubectl(['snyk-watch', 'sync', '--all-contexts', ...args, '-o', 'json'], env)
      assert.doesNotMatch(run.stdout + run.stderr, new RegExp(snyk.token))
      return {code: run.code, stderr: run.stderr, result: JSON.parse(run.stdout) as SyncResult}
    }

    const clean = await sync('--fail-on', 'high')
    assert.equal(clean.code, 0, clean.stderr)
    assert.equal(clean.result.counts.monitored, 7, '--fail-on implies --wait')
    assert.equal(clean.result.gate?.tripped, false)
    assert.equal(clean.result.gate?.judged, clean.result.images.length)
    assert.ok(clean.result.images.every((image) => image.new === true), 'every image is new to a new state store')

    snyk.setIssueCounts('library/nginx:1.27', {critical: 0, high: 2, medium: 0, low: 0})
    const table = await kubectl(['snyk-watch', 'sync', '--all-contexts', '--fail-on', 'high'], env)
    assert.equal(table.code, 1, table.stderr)
    assert.match(table.stdout, /gate: FAILED \(--fail-on high\): 1 image with high or worse issues: docker\.io\/library\/nginx:1\.27/)
    const importsBefore = snyk.requestsFor('Importtargets').length

    // In a GitHub Actions job: an ::error annotation per image on stderr (stdout stays JSON) and the job summary.
    const summaryFile = path.join(set.workDir, 'step-summary.md')
    const actions = await kubectl(['snyk-watch', 'sync', '--all-contexts', '--fail-on', 'high', '-o', 'json'], {...env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summaryFile})
    assert.equal(actions.code, 1, actions.stderr)
    assert.equal((JSON.parse(actions.stdout) as SyncResult).gate?.tripped, true)
    assert.match(actions.stderr, /^::error title=kubectl snyk-watch sync --fail-on high::docker\.io\/library\/nginx:1\.27 has high or worse issues \(critical 0, high 2, medium 0, low 0\)$/m)
    assert.match(await readFile(summaryFile, 'utf8'), /### kubectl snyk-watch sync: gate FAILED \(--fail-on high\)[\s\S]*\| `docker\.io\/library\/nginx:1\.27` \| 0 \| 2 \| 0 \| 0 \|/)

    // Old debt does not block --fail-on-new; a new image with a critical does, and only it is named.
    const oldDebt = await sync('--fail-on', 'high', '--fail-on-new')
    assert.equal(oldDebt.code, 0, oldDebt.stderr)
    assert.deepEqual({newOnly: oldDebt.result.gate?.newOnly, judged: oldDebt.result.gate?.judged}, {newOnly: true, judged: 0})
    assert.equal(snyk.requestsFor('Importtargets').length, importsBefore, 'nothing imported again within --resubmit-after')
    const [a] = set.fixtures
    await a!.createPod({namespace: 'shop', name: 'fresh', containers: [{name: 'f', image: 'nginx:1.29', digest: digestOf('nginx:1.29')}]})
    snyk.setIssueCounts('library/nginx:1.29', {critical: 1, high: 0, medium: 0, low: 0})
    const fresh = await sync('--fail-on', 'high', '--fail-on-new')
    assert.equal(fresh.code, 1, fresh.stderr)
    assert.deepEqual(fresh.result.gate?.images.map((image) => image.image), ['docker.io/library/nginx:1.29'])
    assert.deepEqual(fresh.result.images.filter((image) => image.new).map((image) => image.image), ['docker.io/library/nginx:1.29'])

    // A partial run (an import Snyk fails): the gate's 1 wins over 3; with nothing over the gate, 3.
    snyk.failImports('library/busybox:1.37')
    await a!.createPod({namespace: 'shop', name: 'doomed', containers: [{name: 'd', image: 'busybox:1.37', digest: digestOf('busybox:1.37')}]})
    const partialTripped = await sync('--fail-on', 'high')
    assert.equal(partialTripped.code, 1, partialTripped.stderr)
    assert.equal(partialTripped.result.outcome, 'partial')
    assert.equal(partialTripped.result.counts.failed, 1)
    snyk.setIssueCounts('library/nginx:1.27', {critical: 0, high: 0, medium: 0, low: 0})
    snyk.setIssueCounts('library/nginx:1.29', {critical: 0, high: 0, medium: 0, low: 0})
    const partialClean = await sync('--fail-on', 'high')
    assert.equal(partialClean.code, 3, partialClean.stderr)
    assert.equal(partialClean.result.gate?.tripped, false)

    // Mistakes are usage errors (2), before anything is listed or sent.
    for (const args of [['--fail-on', 'severe'], ['--fail-on-new'], ['--fail-on', 'high', '--dry-run']]) {
      const run = await kubectl(['snyk-watch', 'sync', '--all-contexts', ...args], env)
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
    }
  })

  it('a missing state store: exit 2, says to run sync first, no stack trace', async () => {
    const run = await kubectl(['snyk-watch', 'status'], {SNYK_WATCH_STATE: path.join(set.workDir, 'never-synced.db')})
    assert.equal(run.code, 2)
    assert.match(run.stderr, /no state store at/)
    assert.match(run.stderr, /kubectl snyk-watch sync first/)
    assert.doesNotMatch(run.stderr, /\n\s+at /)
  })
})

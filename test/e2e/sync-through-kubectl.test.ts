// `kubectl snyk-watch sync` as a user runs it: the built CLI found by the real kubectl on PATH, real
// API servers, the Snyk emulator. Also two overlapping runs sharing one state store.
import assert from 'node:assert/strict'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ClusterSet} from '../helpers/clusters.ts'
import {startPluginFixture, type PluginFixture} from '../helpers/plugin-fixture.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {expectedTargets} from '../helpers/sync-scenario.ts'

describe('kubectl snyk-watch sync, end to end', () => {
  let fixture: PluginFixture
  let set: ClusterSet
  before(async () => {
    fixture = await startPluginFixture()
    set = fixture.set
  })
  after(() => fixture?.stop())

  const kubectl = (args: string[], env: NodeJS.ProcessEnv) => fixture.kubectl(args, env)

  it('submits every image once, prints a summary, exits 0; then --json shows nothing left to do', async (t) => {
    const snyk = await withSnykEmulator(t)
    const env = {SNYK_TOKEN: snyk.token, SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url, SNYK_WATCH_STATE: path.join(set.workDir, 'e2e.db')}
    const run = await kubectl(['snyk-watch', 'sync', '--all-contexts', '--wait'], env)
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /TARGET/)
    assert.match(run.stdout, /9 unique images in \d+ pods, 7 submitted \(7 monitored\)/)
    assert.match(run.stdout, /registry\.internal:5000\/tools\/debug:3/)
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(snyk.token), 'the token never appears')
    assert.doesNotMatch(run.stderr, /ExperimentalWarning/)
    for (const name of Object.keys(expectedTargets)) assert.equal(snyk.importsOf(name).length, 1)

    const again = await kubectl(['snyk-watch', 'sync', '--all-contexts', '--json'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stderr, '', 'nothing but JSON under --json')
    const result = JSON.parse(again.stdout) as {counts: {submitted: number; unchanged: number}}
    assert.equal(result.counts.submitted, 0)
    assert.equal(result.counts.unchanged, 7)

    // A dry run submits nothing and says so: what it would do has counts of its own.
    const dry = await kubectl(['snyk-watch', 'sync', '--all-contexts', '--dry-run', '--json'], env)
    assert.equal(dry.code, 0, dry.stderr)
    const planned = JSON.parse(dry.stdout) as {dryRun: boolean; counts: {submitted: number; skipped: number; wouldSubmit: number; wouldSkip: number}}
    assert.equal(planned.dryRun, true)
    assert.deepEqual({submitted: planned.counts.submitted, skipped: planned.counts.skipped, wouldSubmit: planned.counts.wouldSubmit, wouldSkip: planned.counts.wouldSkip}, {submitted: 0, skipped: 0, wouldSubmit: 7, wouldSkip: 2})
    for (const name of Object.keys(expectedTargets)) assert.equal(snyk.importsOf(name).length, 1, `${name}: the dry run imported nothing`)
  })

  it('two overlapping runs on one state store submit each image exactly once', async (t) => {
    const snyk = await withSnykEmulator(t)
    snyk.faults.push({when: {operationId: 'Importtargets', times: Infinity}, fault: {kind: 'slow', delayMs: 150}})
    const env = {SNYK_TOKEN: snyk.token, SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url, SNYK_WATCH_STATE: path.join(set.workDir, 'overlap.db')}
    const [one, two] = await Promise.all([kubectl(['snyk-watch', 'sync', '--all-contexts', '-o', 'json'], env), kubectl(['snyk-watch', 'sync', '--all-contexts', '-o', 'json'], env)])
    assert.equal(one.code, 0, one.stderr)
    assert.equal(two.code, 0, two.stderr)
    for (const name of Object.keys(expectedTargets)) assert.equal(snyk.importsOf(name).length, 1, `${name} imported once across both runs`)
    const submitted = [one, two].map((run) => (JSON.parse(run.stdout) as {counts: {submitted: number}}).counts.submitted)
    assert.equal(submitted[0]! + submitted[1]!, 7)
  })

  it('answers a usage mistake with exit 2, a suggestion and no stack trace', async () => {
    const run = await kubectl(['snyk-watch', 'sync', '--context', 'nope', '--dry-run'], {})
    assert.equal(run.code, 2)
    assert.match(run.stderr, /context "nope" not found/)
    assert.match(run.stderr, /e2e-a, e2e-b, e2e-c/)
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
    const noToken = await kubectl(['snyk-watch', 'sync'], {SNYK_TOKEN: ''})
    assert.equal(noToken.code, 2)
    assert.match(noToken.stderr, /no Snyk API token/)
  })

  it('a mistyped command: exit 2, the command meant, the list of commands; nothing close: the list only', async () => {
    const typo = await kubectl(['snyk-watch', 'stauts', '--all'], {})
    assert.equal(typo.code, 2, typo.stderr)
    assert.match(typo.stderr, /unknown command "stauts" for "kubectl snyk-watch"/)
    assert.match(typo.stderr, /did you mean "status"\? kubectl snyk-watch status/)
    assert.match(typo.stderr, /See 'kubectl snyk-watch --help' for the commands: status, sync, watch\./)
    assert.doesNotMatch(typo.stderr, /\n\s+at /, 'no stack trace')
    const far = await kubectl(['snyk-watch', 'deploy'], {})
    assert.equal(far.code, 2)
    assert.doesNotMatch(far.stderr, /did you mean/)
  })

  it('answers an unknown flag in one short paragraph: the error, the flag meant, where the usage is; no usage dump', async () => {
    const run = await kubectl(['snyk-watch', 'sync', '--concurency', '3', '--dry-run'], {})
    assert.equal(run.code, 2)
    assert.match(run.stderr, /Nonexistent flag: --concurency/)
    assert.match(run.stderr, /did you mean --concurrency\?/)
    assert.match(run.stderr, /See 'kubectl snyk-watch sync --help' for usage\./)
    assert.doesNotMatch(run.stderr, /^USAGE$|^\S* ?FLAGS$|--kubeconfig/m, 'the usage is left to --help')
    assert.ok(run.stderr.trim().split('\n').length <= 6, `a few lines, not the usage:\n${run.stderr}`)
    assert.equal(run.stdout, '')

    const farOff = await kubectl(['snyk-watch', 'status', '--zzzzzzzz'], {})
    assert.equal(farOff.code, 2)
    assert.doesNotMatch(farOff.stderr, /did you mean/, 'nothing close enough to suggest')
    assert.match(farOff.stderr, /See 'kubectl snyk-watch status --help' for usage\./)
  })

  it('exits 2 with an authentication error when Snyk refuses the token', async (t) => {
    const snyk = await withSnykEmulator(t)
    const run = await kubectl(['snyk-watch', 'sync', '--all-contexts'], {SNYK_TOKEN: 'wrong-token-1234', SNYK_WATCH_ORG: snyk.orgId, SNYK_WATCH_API: snyk.url, SNYK_WATCH_STATE: path.join(set.workDir, 'auth.db')})
    assert.equal(run.code, 2)
    assert.match(run.stderr, /401|token/i)
    assert.doesNotMatch(run.stderr, /wrong-token-1234/)
    assert.doesNotMatch(run.stderr, /\n\s+at /)
  })
})

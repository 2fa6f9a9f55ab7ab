// `kubectl snyk-watch status` as a user runs it after `sync --wait`: the built CLI found by the real kubectl on
// PATH, real API servers, the Snyk emulator.
import assert from 'node:assert/strict'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse as parseYaml} from 'yaml'
import type {ClusterSet} from '../helpers/clusters.ts'
import {startPluginFixture, type PluginFixture} from '../helpers/plugin-fixture.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {expectedTargets} from '../helpers/sync-scenario.ts'
import type {StatusResult} from '../../src/status/status-result.ts'

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

  it('a missing state store: exit 2, says to run sync first, no stack trace', async () => {
    const run = await kubectl(['snyk-watch', 'status'], {SNYK_WATCH_STATE: path.join(set.workDir, 'never-synced.db')})
    assert.equal(run.code, 2)
    assert.match(run.stderr, /no state store at/)
    assert.match(run.stderr, /kubectl snyk-watch sync first/)
    assert.doesNotMatch(run.stderr, /\n\s+at /)
  })
})

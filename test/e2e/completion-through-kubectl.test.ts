// Shell completion as kubectl (1.26+) does it for plugins: the real kubectl's `__complete snyk-watch ...` finds
// kubectl_complete-snyk_watch on PATH (as npm installs it), which asks the plugin; real API servers for namespaces.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {startPluginFixture, type PluginFixture} from '../helpers/plugin-fixture.ts'

describe('kubectl completion of kubectl snyk-watch', () => {
  let fixture: PluginFixture
  before(async () => {
    fixture = await startPluginFixture()
  })
  after(() => fixture?.stop())

  /** The candidates kubectl prints (without descriptions) and its directive. */
  const completeOf = async (...args: string[]) => {
    const run = await fixture.kubectl(['__complete', 'snyk-watch', ...args], {})
    assert.equal(run.code, 0, run.stderr)
    const lines = run.stdout.trimEnd().split('\n')
    const directive = lines.pop()
    return {candidates: lines.map((line) => line.split('\t')[0]), directive, stdout: run.stdout}
  }

  it('subcommands with their summaries, then no file completion (:4)', async () => {
    const {candidates, directive, stdout} = await completeOf('')
    assert.deepEqual(candidates, ['status', 'sync', 'watch'])
    assert.equal(directive, ':4')
    assert.match(stdout, /^sync\tSubmit every image running in your clusters to Snyk, once\.$/m)
    assert.deepEqual((await completeOf('st')).candidates, ['status'])
  })

  it('flags of the command, and their values: -o, --fail-on, --by, --result from the command, --context from the kubeconfig', async () => {
    assert.deepEqual((await completeOf('sync', '--fail')).candidates, ['--fail-on', '--fail-on-new'])
    assert.deepEqual((await completeOf('sync', '--fail-on', '')).candidates, ['critical', 'high', 'medium', 'low'])
    assert.deepEqual((await completeOf('status', '-o', '')).candidates, ['table', 'wide', 'json', 'yaml'])
    assert.deepEqual((await completeOf('status', '--by', 'n')).candidates, ['namespace'])
    assert.deepEqual((await completeOf('status', '--result', '')).candidates, ['monitored', 'pending', 'failed', 'skipped', 'not-submitted'])
    assert.deepEqual((await completeOf('sync', '--context', '')).candidates, ['e2e-a', 'e2e-b', 'e2e-c'])
  })

  it('--namespace from the cluster of the --context given; a file flag completes files (:0)', async () => {
    const {candidates} = await completeOf('sync', '--context', 'e2e-b', '-n', '')
    for (const namespace of ['default', 'kube-system', 'shop']) assert.ok(candidates.includes(namespace), `${namespace} in ${candidates.join(', ')}`)
    assert.deepEqual((await completeOf('sync', '--context', 'e2e-b', '-n', 'sh')).candidates, ['shop'])
    assert.equal((await completeOf('status', '--state', '')).directive, ':0')
  })
})

// What `__complete` answers (the protocol kubectl's plugin completion reads): candidates with descriptions, then
// `:<directive>`; commands, flags, flag values from the manifest, contexts from the kubeconfig, namespaces from the
// cluster (a fake here; the real API server in test/e2e/completion-through-kubectl.test.ts), files for file flags.
import assert from 'node:assert/strict'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {test} from 'node:test'
import {complete, type CompletionManifest} from '../../../src/cli/completion.ts'

const manifest: CompletionManifest = {
  commands: {
    status: {summary: 'What was found.', flags: {output: {name: 'output', char: 'o', type: 'option', options: ['table', 'json']}, 'fail-on': {name: 'fail-on', type: 'option', options: ['critical', 'high']}, namespace: {name: 'namespace', char: 'n', type: 'option'}, state: {name: 'state', type: 'option'}, secret: {name: 'secret', type: 'boolean', hidden: true}}},
    sync: {summary: 'Submit.', flags: {context: {name: 'context', type: 'option'}, wait: {name: 'wait', type: 'boolean', summary: 'Wait for Snyk.\nMore.'}}},
  },
}
const io = {env: {HOME: '/nonexistent'}, listNamespaces: async (_: unknown, context: string | undefined) => (context === 'prod' ? ['shop', 'default'] : ['other'])}

test('commands with their summaries; flags of the command (hidden ones left out); :4, no file completion', async () => {
  assert.deepEqual(await complete(manifest, [''], io), ['status\tWhat was found.', 'sync\tSubmit.', ':4'])
  assert.deepEqual(await complete(manifest, ['sy'], io), ['sync\tSubmit.', ':4'])
  assert.deepEqual(await complete(manifest, ['sync', '--'], io), ['--context', '--wait\tWait for Snyk.', ':4'])
  assert.deepEqual(await complete(manifest, ['status', '--s'], io), ['--state', ':4'])
  assert.deepEqual(await complete(manifest, ['nope', ''], io), [':1'])
})

test('values: options from the manifest (-o, --flag=), files for a file flag, namespaces of the --context given', async () => {
  assert.deepEqual(await complete(manifest, ['status', '-o', ''], io), ['table', 'json', ':4'])
  assert.deepEqual(await complete(manifest, ['status', '--fail-on=h'], io), ['--fail-on=high', ':4'])
  assert.deepEqual(await complete(manifest, ['status', '--state', ''], io), [':0'])
  assert.deepEqual(await complete(manifest, ['status', '--context', 'prod', '-n', 's'], io), ['shop', ':4'])
  const failing = {...io, listNamespaces: async () => Promise.reject(new Error('unreachable'))}
  assert.deepEqual(await complete(manifest, ['status', '-n', ''], failing), [':4'], 'a cluster that does not answer completes nothing')
})

test('--context: the contexts of --kubeconfig, else of $KUBECONFIG', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'completion-'))
  t.after(() => rm(dir, {recursive: true, force: true}))
  const kubeconfig = (contexts: string[]) => `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [${contexts.map((name) => `{name: ${name}, context: {cluster: c, user: u}}`).join(', ')}]\n`
  await writeFile(path.join(dir, 'a.yaml'), kubeconfig(['prod-eu', 'prod-us', 'dev']))
  await writeFile(path.join(dir, 'b.yaml'), kubeconfig(['staging']))
  assert.deepEqual(await complete(manifest, ['sync', '--context', 'prod'], {env: {KUBECONFIG: path.join(dir, 'a.yaml')}}), ['prod-eu', 'prod-us', ':4'])
  assert.deepEqual(await complete(manifest, ['sync', '--kubeconfig', path.join(dir, 'b.yaml'), '--context', ''], {env: {KUBECONFIG: path.join(dir, 'a.yaml')}}), ['staging', ':4'])
})

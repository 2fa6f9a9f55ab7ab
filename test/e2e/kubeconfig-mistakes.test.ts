// Each kubeconfig mistake is a configuration error (exit 2) with its own cause and fix, naming the entry at
// fault; "cannot reach" is kept for what really is a network failure (exit 3). The built CLI against real API
// servers, with kubeconfigs broken the ways people break them.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {stringify} from 'yaml'
import {kubeconfigDocument} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf} from '../helpers/kube-objects.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

interface Doc {
  clusters: Array<{name: string; cluster: Record<string, string>}>
  users: Array<{name: string; user: Record<string, string>}>
  contexts: Array<{name: string; context: {cluster: string; user: string}}>
  'current-context': string
}
interface SyncJson {
  exitCode: number
  targets: Array<{name: string; status: string; error?: string; suggestion?: string; configurationError?: boolean}>
}

describe('kubeconfig mistakes', () => {
  let set: ClusterSet
  let good: Doc
  before(async () => {
    set = await startClusters(2, {names: ['km-a', 'km-b']})
    await set.fixtures[0]!.createNamespace('shop')
    await set.fixtures[0]!.createPod({namespace: 'shop', name: 'web', containers: [{name: 'web', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}]})
    good = kubeconfigDocument([{cluster: set.clusters[0]!}]) as Doc
  })
  after(() => set?.stop())

  /** `sync --dry-run` (no token needed) on a kubeconfig made from the good one by `edit`. */
  async function syncWith(name: string, edit: (doc: Doc) => void, args: string[] = []): Promise<{code: number | null; stdout: string; stderr: string; file: string}> {
    const doc = structuredClone(good)
    edit(doc)
    const file = path.join(set.workDir, `${name}.yaml`)
    await writeFile(file, stringify(doc), {mode: 0o600})
    return new Promise((resolve) => {
      const child = spawn(path.join(root, 'node_modules', '.bin', 'node'), [path.join(root, 'bin', 'run.js'), 'sync', '--dry-run', '--kubeconfig', file, ...args], {
        env: {PATH: process.env.PATH, HOME: set.workDir},
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      // oclif wraps error lines at the terminal's width: compare the words.
      child.on('close', (code) => resolve({code, stdout, stderr: stderr.replace(/\s+/g, ' '), file}))
    })
  }

  it('a context naming a cluster entry that does not exist: exit 2, the entry and the file named, how to add it', async () => {
    const run = await syncWith('orphan', (doc) => {
      doc.contexts.push({name: 'orphan', context: {cluster: 'nowhere', user: doc.users[0]!.name}})
      doc['current-context'] = 'orphan'
    })
    assert.equal(run.code, 2, run.stderr)
    assert.match(run.stderr, new RegExp(`context "orphan" names cluster "nowhere", which ${run.file.replaceAll('.', '\\.')} does not define`))
    assert.match(run.stderr, /kubectl config set-cluster nowhere/)
    assert.match(run.stderr, /kubectl config set-context orphan --cluster=NAME/)
    assert.doesNotMatch(run.stderr, / at .*\.(js|ts):\d+/, 'no stack trace')
  })

  it('a context naming a user entry that does not exist: exit 2, the user named, not a network error', async () => {
    const run = await syncWith('ghost', (doc) => {
      doc.contexts[0]!.context.user = 'ghost-user'
    })
    assert.equal(run.code, 2, run.stderr)
    assert.match(run.stderr, /context "km-a" names user "ghost-user", which .* does not define/)
    assert.match(run.stderr, /kubectl config set-credentials ghost-user/)
    assert.doesNotMatch(run.stderr, /cannot reach|GOAWAY/)
  })

  it('a certificate authority that does not verify the server: exit 2, the certificate-authority entry named, cluster-info as the check', async () => {
    const run = await syncWith('wrong-ca', (doc) => {
      doc.clusters[0]!.cluster['certificate-authority-data'] = Buffer.from(set.clusters[1]!.pki.caCertPem).toString('base64')
    }, ['-o', 'json'])
    assert.equal(run.code, 2, run.stderr)
    const result = JSON.parse(run.stdout) as SyncJson
    const target = result.targets[0]!
    assert.equal(target.status, 'failed')
    assert.equal(target.configurationError, true)
    assert.match(target.error ?? '', /is not signed by the certificate-authority of cluster "km-a"/)
    assert.match(target.suggestion ?? '', /certificate-authority .* of cluster "km-a" in .*wrong-ca\.yaml/)
    assert.match(target.suggestion ?? '', /kubectl --context km-a cluster-info/)
    assert.doesNotMatch(`${target.error} ${target.suggestion}`, /cannot reach|reachable/)
  })

  it('a client certificate the cluster did not issue: 401, exit 2, the user entry named', async () => {
    const other = set.clusters[1]!.admin
    const run = await syncWith('foreign-cert', (doc) => {
      doc.users[0]!.user['client-certificate-data'] = Buffer.from(other.certPem).toString('base64')
      doc.users[0]!.user['client-key-data'] = Buffer.from(other.keyPem).toString('base64')
    }, ['-o', 'json'])
    assert.equal(run.code, 2, run.stderr)
    const target = (JSON.parse(run.stdout) as SyncJson).targets[0]!
    assert.match(target.error ?? '', /refused the credentials of user "km-a-admin" \(context km-a\): 401 Unauthorized/)
    assert.match(target.suggestion ?? '', /renew the client certificate or token of user "km-a-admin"/)
  })

  it('a server that is down is a network failure: "cannot reach", exit 3; a kubeconfig mistake among good targets is still exit 2', async () => {
    const down = await syncWith('down', (doc) => {
      doc.clusters[0]!.cluster['server'] = 'https://127.0.0.1:9'
    }, ['-o', 'json'])
    assert.equal(down.code, 3, down.stderr)
    const target = (JSON.parse(down.stdout) as SyncJson).targets[0]!
    assert.match(target.error ?? '', /cannot reach https:\/\/127\.0\.0\.1:9/)
    assert.match(target.suggestion ?? '', /kubectl --context km-a cluster-info/)
    assert.equal(target.configurationError, undefined)

    const mixed = await syncWith('mixed', (doc) => {
      doc.clusters.push({name: 'km-b', cluster: {server: set.clusters[1]!.server, 'certificate-authority-data': Buffer.from(set.clusters[0]!.pki.caCertPem).toString('base64')}})
      doc.contexts.push({name: 'km-b', context: {cluster: 'km-b', user: doc.users[0]!.name}})
    }, ['--all-contexts', '-o', 'json'])
    assert.equal(mixed.code, 2, mixed.stderr)
    const targets = (JSON.parse(mixed.stdout) as SyncJson).targets
    assert.deepEqual(targets.map((t) => [t.name, t.status]), [['km-a', 'ok'], ['km-b', 'failed']])
  })
})

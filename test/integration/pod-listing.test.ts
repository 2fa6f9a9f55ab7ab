// Pod listing on real API servers: workloads resolved, scope rules, pagination, an expired continue
// token, a restricted user and an unreachable target.
import assert from 'node:assert/strict'
import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import {KubeApiClient, KubeRequestError} from '../../src/kube/kube-api-client.ts'
import {loadKubeconfigs} from '../../src/kube/kubeconfig-loader.ts'
import {listTargetPods, type TargetListing} from '../../src/kube/pod-lister.ts'
import type {PodScope} from '../../src/kube/pod-scope.ts'
import {resolveTargets, type Target} from '../../src/kube/target.ts'

const allScope: PodScope = {namespaces: [], excludeNamespaces: [], skipJobPods: false}

async function list(target: Target, scope: PodScope = allScope, pageSize?: number): Promise<TargetListing> {
  const client = new KubeApiClient(target, {requestTimeoutMs: 5000})
  try {
    return await listTargetPods(client, scope, pageSize ? {pageSize} : {})
  } finally {
    await client.close()
  }
}

describe('pod listing on a real API server', () => {
  let set: ClusterSet
  let targets: Target[]
  before(async () => {
    set = await startClusters(1, {names: ['listing'], apiserverArgs: ['--watch-cache=false']})
    const fixture = set.fixtures[0]!
    await fixture.createNamespace('shop')
    await fixture.createNamespace('kube-system-extra')
    await fixture.createNamespace('quiet', {labels: {'snyk-watch.io/ignore': 'true'}})
    await fixture.createDeployment('shop', 'frontend', [{name: 'web', image: 'nginx:1.27', digest: digestOf('nginx')}], 3)
    await fixture.createSet('StatefulSet', 'shop', 'db', [{name: 'pg', image: 'postgres:16', digest: digestOf('pg')}])
    await fixture.createSet('DaemonSet', 'shop', 'agent', [{name: 'agent', image: 'quay.io/acme/agent:1', digest: digestOf('agent')}])
    await fixture.createCronJob('shop', 'report', [{name: 'r', image: 'alpine:3.20', digest: digestOf('alpine')}])
    await fixture.createPod({namespace: 'shop', name: 'bare', labels: {tier: 'debug'}, containers: [{name: 'c', image: 'busybox'}], initContainers: [{name: 'i', image: 'ghcr.io/acme/init:2', digest: digestOf('init')}], ephemeralContainers: [{name: 'dbg', image: 'busybox:1.36', digest: digestOf('bb')}]})
    await fixture.createPod({namespace: 'shop', name: 'skipme', annotations: {'snyk-watch.io/ignore': 'true'}, containers: [{name: 'c', image: 'redis:7'}]})
    await fixture.createPod({namespace: 'quiet', name: 'hidden', containers: [{name: 'c', image: 'redis:7'}]})
    await fixture.createPod({namespace: 'kube-system-extra', name: 'sys', containers: [{name: 'c', image: 'registry.k8s.io/pause:3.10'}]})
    const file = await writeKubeconfig(path.join(set.workDir, 'config.yaml'), [{name: 'listing', cluster: set.clusters[0]!}])
    targets = resolveTargets(loadKubeconfigs({paths: [file], env: {}, homeDir: set.workDir}), {contexts: [], allContexts: true})
  })
  after(() => set?.stop())

  it('resolves every pod to its top-level workload and keeps all three container kinds', async () => {
    const listing = await list(targets[0]!)
    const byName = new Map(listing.pods.map((pod) => [pod.name, pod]))
    const workloads = listing.pods.map((pod) => `${pod.workload.kind}/${pod.workload.name}`).sort()
    assert.deepEqual([...new Set(workloads)], ['CronJob/report', 'DaemonSet/agent', 'Deployment/frontend', 'Pod/bare', 'Pod/sys', 'StatefulSet/db'])
    assert.equal(workloads.filter((w) => w === 'Deployment/frontend').length, 3)
    const bare = byName.get('bare')!
    assert.deepEqual(bare.containers, [{name: 'c', image: 'busybox'}])
    assert.deepEqual(bare.containerStatuses, [], 'a container that has not started has no imageID')
    assert.deepEqual(bare.initContainerStatuses, [{name: 'i', imageID: `ghcr.io/acme/init@${digestOf('init')}`}])
    assert.deepEqual(bare.ephemeralContainers, [{name: 'dbg', image: 'busybox:1.36'}])
    assert.deepEqual(bare.ephemeralContainerStatuses, [{name: 'dbg', imageID: `docker.io/library/busybox@${digestOf('bb')}`}])
  })

  it('skips pods and namespaces marked snyk-watch.io/ignore, excluded namespaces, Job pods, and applies the selector', async () => {
    const all = await list(targets[0]!)
    assert.ok(!all.pods.some((pod) => pod.name === 'skipme' || pod.name === 'hidden'))
    assert.equal(all.skippedPods, 2)
    const scoped = await list(targets[0]!, {namespaces: [], excludeNamespaces: ['kube-*'], skipJobPods: true})
    assert.ok(!scoped.pods.some((pod) => pod.namespace === 'kube-system-extra' || pod.workload.kind === 'CronJob'))
    const selected = await list(targets[0]!, {...allScope, labelSelector: 'tier=debug'})
    assert.deepEqual(selected.pods.map((pod) => pod.name), ['bare'])
    const inNamespace = await list(targets[0]!, {...allScope, namespaces: ['kube-system-extra']})
    assert.deepEqual(inNamespace.pods.map((pod) => pod.name), ['sys'])
  })

  it('pages through pods and resumes when the continue token expires', async () => {
    const paged = await list(targets[0]!, allScope, 2)
    assert.ok(paged.pages >= 5)
    const whole = await list(targets[0]!)
    assert.deepEqual(paged.pods.map((p) => p.name).sort(), whole.pods.map((p) => p.name).sort())

    const client = new KubeApiClient(targets[0]!)
    let compacted = false
    const expired = await listTargetPods(client, allScope, {
      pageSize: 2,
      onProgress: async () => {
        if (compacted) return
        compacted = true
        await set.fixtures[0]!.createNamespace('churn')
        await set.clusters[0]!.compactEtcd()
      },
    })
    await client.close()
    assert.match(expired.warnings.join('\n'), /expired while paging/)
    assert.deepEqual(expired.pods.map((p) => p.name).sort(), whole.pods.map((p) => p.name).sort())
  })

  it('reports a restricted user as forbidden cluster-wide, and lists the namespaces it may read', async () => {
    const fixture = set.fixtures[0]!
    const user = await fixture.createRestrictedUser('shop-reader', ['shop'])
    const file = await writeKubeconfig(path.join(set.workDir, 'restricted.yaml'), [{name: 'restricted', cluster: set.clusters[0]!, user}])
    const [target] = resolveTargets(loadKubeconfigs({paths: [file], env: {}, homeDir: set.workDir}), {contexts: [], allContexts: true})
    await assert.rejects(list(target!), (error: unknown) => error instanceof KubeRequestError && error.kind === 'forbidden' && /cannot list resource "pods"/.test(error.message))
    const shop = await list(target!, {...allScope, namespaces: ['shop']})
    assert.ok(shop.pods.length >= 7)
    assert.match(shop.warnings.join('\n'), /not allowed to read namespaces/)
    assert.ok(shop.pods.some((pod) => pod.workload.kind === 'Deployment' && pod.workload.name === 'frontend'), 'Deployment found from the pod-template-hash convention')
  })

  it('authenticates through an exec credential plugin', async () => {
    const cluster = set.clusters[0]!
    const plugin = path.join(set.workDir, 'credential-plugin.mjs')
    await writeFile(plugin, `process.stdout.write(JSON.stringify({apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: {token: ${JSON.stringify(cluster.adminToken)}}}))\n`)
    const file = await writeKubeconfig(path.join(set.workDir, 'exec.yaml'), [{name: 'exec', cluster, user: {name: 'exec-user', exec: {command: process.execPath, args: [plugin]}}}])
    const [target] = resolveTargets(loadKubeconfigs({paths: [file], env: {}, homeDir: set.workDir}), {contexts: [], allContexts: true})
    const listing = await list(target!)
    assert.ok(listing.pods.some((pod) => pod.name === 'bare'))
  })

  it('uses the pod service account when running in a cluster', async () => {
    const cluster = set.clusters[0]!
    const serviceAccountDir = path.join(set.workDir, 'serviceaccount')
    await mkdir(serviceAccountDir, {recursive: true})
    await writeFile(path.join(serviceAccountDir, 'token'), cluster.adminToken)
    await writeFile(path.join(serviceAccountDir, 'ca.crt'), cluster.pki.caCertPem)
    await writeFile(path.join(serviceAccountDir, 'namespace'), 'shop')
    const env = {KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(cluster.apiserverPort)}
    const sources = loadKubeconfigs({paths: [], env, homeDir: path.join(set.workDir, 'no-home'), serviceAccountDir})
    assert.equal(sources[0]!.label, 'in-cluster')
    const [target] = resolveTargets(sources, {contexts: [], allContexts: false})
    const listing = await list(target!)
    assert.ok(listing.pods.some((pod) => pod.name === 'bare'))
  })

  it('reports an unreachable API server', async () => {
    const file = await writeKubeconfig(path.join(set.workDir, 'down.yaml'), [{name: 'listing', cluster: set.clusters[0]!}])
    const text = (await import('node:fs/promises')).readFile
    const content = (await text(file, 'utf8')).replace(set.clusters[0]!.server, 'https://127.0.0.1:9')
    await (await import('node:fs/promises')).writeFile(file, content)
    const [target] = resolveTargets(loadKubeconfigs({paths: [file], env: {}, homeDir: set.workDir}), {contexts: [], allContexts: true})
    await assert.rejects(list(target!), (error: unknown) => error instanceof KubeRequestError && error.kind === 'unreachable' && /cannot reach https:\/\/127\.0\.0\.1:9/.test(error.message))
  })
})

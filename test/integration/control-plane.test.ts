// The test bed itself: real kube-apiservers answer, several clusters run at once, kubeconfigs with
// several contexts work with the real kubectl, pod statuses written as kubelets write them read back.
import assert from 'node:assert/strict'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {pinnedVersions} from '../controlplane/binaries.ts'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf, imageIdFor} from '../helpers/kube-objects.ts'
import {kubectl} from '../helpers/kubectl.ts'

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('local control plane', () => {
  let set: ClusterSet
  before(async () => {
    set = await startClusters(2)
  })
  after(async () => {
    await set?.stop()
  })

  it('runs two real kube-apiservers at once, each with its own etcd, at the pinned version', async (t) => {
    const {kubernetes, etcd} = await pinnedVersions()
    assert.equal(set.clusters.length, 2)
    const servers = new Set(set.clusters.map((cluster) => cluster.server))
    assert.equal(servers.size, 2, 'each cluster listens on its own port')
    for (const cluster of set.clusters) {
      const version = await cluster.version()
      t.diagnostic(`${cluster.name}: kube-apiserver ${version} at ${cluster.server} (etcd ${etcd} at ${cluster.etcdUrl})`)
      assert.equal(version, kubernetes)
    }
    // The clusters are independent: a namespace made in one does not exist in the other.
    await set.fixtures[0]!.createNamespace('only-in-a')
    assert.equal((await set.clusters[0]!.get('/api/v1/namespaces/only-in-a')).status, 200)
    assert.equal((await set.clusters[1]!.get('/api/v1/namespaces/only-in-a')).status, 404)
  })

  it('enforces RBAC and TLS: anonymous users may not list pods', async () => {
    const anonymous = await set.clusters[0]!.get('/api/v1/pods', {anonymous: true})
    assert.equal(anonymous.status, 403)
  })

  it('writes pod statuses as kubelets do, for every runtime, and reads them back', async (t) => {
    const fixture = set.fixtures[0]!
    await fixture.createNamespace('runtimes')
    const runtimes = ['containerd', 'cri-o', 'docker', 'docker-local'] as const
    for (const runtime of runtimes) {
      await fixture.createPod({
        namespace: 'runtimes',
        name: `web-${runtime}`,
        runtime,
        containers: [{name: 'app', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}],
        initContainers: [{name: 'init', image: 'ghcr.io/acme/migrate:v3', digest: digestOf('migrate')}],
        ephemeralContainers: [{name: 'debug', image: 'busybox', digest: digestOf('busybox')}],
      })
    }
    for (const runtime of runtimes) {
      const pod = await fixture.readPod('runtimes', `web-${runtime}`)
      const imageID = pod.status?.containerStatuses?.[0]?.imageID
      t.diagnostic(`${runtime}: imageID ${imageID}`)
      assert.equal(imageID, imageIdFor(runtime, 'nginx:1.27', digestOf('nginx:1.27')))
      assert.equal(pod.status?.phase, 'Running')
      assert.equal(pod.status?.initContainerStatuses?.[0]?.imageID, imageIdFor(runtime, 'ghcr.io/acme/migrate:v3', digestOf('migrate')))
      assert.equal(pod.spec?.ephemeralContainers?.[0]?.image, 'busybox')
      assert.equal(pod.status?.ephemeralContainerStatuses?.[0]?.imageID, imageIdFor(runtime, 'busybox', digestOf('busybox')))
    }
    assert.equal(imageIdFor('containerd', 'nginx:1.27', 'sha256:ab'), 'docker.io/library/nginx@sha256:ab')
    assert.equal(imageIdFor('docker', 'nginx:1.27', 'sha256:ab'), 'docker-pullable://nginx@sha256:ab')
    assert.equal(imageIdFor('docker-local', 'nginx:1.27', 'sha256:ab'), 'docker://sha256:ab')
  })

  it('builds workload owner chains without controllers', async () => {
    const fixture = set.fixtures[1]!
    await fixture.createNamespace('workloads')
    const [deploymentPod] = await fixture.createDeployment('workloads', 'api', [{name: 'api', image: 'quay.io/acme/api:2.1', digest: digestOf('api')}], 2)
    const replicaSetRef = deploymentPod!.metadata?.ownerReferences?.[0]
    assert.equal(replicaSetRef?.kind, 'ReplicaSet')
    const replicaSet = await fixture.apps.readNamespacedReplicaSet({namespace: 'workloads', name: replicaSetRef!.name})
    assert.equal(replicaSet.metadata?.ownerReferences?.[0]?.kind, 'Deployment')
    assert.equal(replicaSet.metadata?.ownerReferences?.[0]?.name, 'api')

    const [jobPod] = await fixture.createCronJob('workloads', 'nightly', [{name: 'report', image: 'alpine:3.20', digest: digestOf('alpine')}])
    const job = await fixture.batch.readNamespacedJob({namespace: 'workloads', name: jobPod!.metadata!.ownerReferences![0]!.name})
    assert.equal(job.metadata?.ownerReferences?.[0]?.kind, 'CronJob')

    const [setPod] = await fixture.createSet('StatefulSet', 'workloads', 'db', [{name: 'db', image: 'postgres:16', digest: digestOf('pg')}])
    assert.equal(setPod!.metadata?.ownerReferences?.[0]?.kind, 'StatefulSet')
    const pods = await fixture.core.listNamespacedPod({namespace: 'workloads'})
    assert.equal(pods.items.length, 4)
  })

  it('serves two kubeconfig files with several contexts to the real kubectl, and a restricted user', async (t) => {
    const [a, b] = set.fixtures as [typeof set.fixtures[0], typeof set.fixtures[0]]
    await a.createNamespace('team-a')
    await a.createPod({namespace: 'team-a', name: 'worker', containers: [{name: 'w', image: 'redis:7', digest: digestOf('redis')}]})
    const restricted = await a.createRestrictedUser('team-a-reader', ['team-a'])

    const first = await writeKubeconfig(path.join(set.workDir, 'first.yaml'), [
      {name: 'alpha', cluster: a.cluster},
      {name: 'beta', cluster: b.cluster},
    ])
    const second = await writeKubeconfig(path.join(set.workDir, 'second.yaml'), [{name: 'alpha-restricted', cluster: a.cluster, user: restricted, namespace: 'team-a'}])
    const env = {KUBECONFIG: [first, second].join(path.delimiter)}

    const contexts = await kubectl(set.binaries.kubectl, ['config', 'get-contexts', '-o', 'name'], env)
    assert.equal(contexts.code, 0, contexts.stderr)
    assert.deepEqual(contexts.stdout.trim().split('\n').sort(), ['alpha', 'alpha-restricted', 'beta'])

    const version = await kubectl(set.binaries.kubectl, ['--context', 'beta', 'version', '-o', 'json'], env)
    assert.equal(version.code, 0, version.stderr)
    t.diagnostic(`kubectl --context beta version: server ${(JSON.parse(version.stdout) as {serverVersion: {gitVersion: string}}).serverVersion.gitVersion}`)

    const pods = await kubectl(set.binaries.kubectl, ['--context', 'alpha', 'get', 'pods', '-A', '-o', 'json'], env)
    assert.equal(pods.code, 0, pods.stderr)
    const items = (JSON.parse(pods.stdout) as {items: Array<{metadata: {name: string}; status: {containerStatuses?: Array<{imageID: string}>}}>}).items
    const worker = items.find((pod) => pod.metadata.name === 'worker')
    assert.equal(worker?.status.containerStatuses?.[0]?.imageID, `docker.io/library/redis@${digestOf('redis')}`)

    const allowed = await kubectl(set.binaries.kubectl, ['--context', 'alpha-restricted', 'get', 'pods', '-o', 'name'], env)
    assert.equal(allowed.code, 0, allowed.stderr)
    assert.equal(allowed.stdout.trim(), 'pod/worker')
    const forbidden = await kubectl(set.binaries.kubectl, ['--context', 'alpha-restricted', 'get', 'pods', '-A'], env)
    assert.notEqual(forbidden.code, 0)
    assert.match(forbidden.stderr, /forbidden/i)
  })

  it('can make a watch fail with 410 Gone by compacting etcd (API server without watch cache)', async (t) => {
    const extra = await startClusters(1, {names: ['no-watch-cache'], apiserverArgs: ['--watch-cache=false']})
    t.after(() => extra.stop())
    const [cluster, fixture] = [extra.clusters[0]!, extra.fixtures[0]!]
    const before = JSON.parse((await cluster.get('/api/v1/namespaces')).body) as {metadata: {resourceVersion: string}}
    await fixture.createNamespace('churn-1')
    await fixture.createNamespace('churn-2')
    await cluster.compactEtcd()
    const watch = await cluster.get(`/api/v1/namespaces?watch=1&resourceVersion=${before.metadata.resourceVersion}&timeoutSeconds=1`)
    assert.match(watch.body, /"type":"ERROR".*"code":410/)
  })

  it('restarts an API server on the same port and etcd, keeping the data', async () => {
    const cluster = set.clusters[0]!
    await cluster.stopApiServer()
    await assert.rejects(cluster.get('/readyz'))
    await cluster.startApiServer()
    assert.equal((await cluster.get('/api/v1/namespaces/team-a')).status, 200)
  })

  it('stops every process it started', async () => {
    const extra = await startClusters(1, {names: ['short-lived']})
    const pids = extra.clusters[0]!.pids
    assert.equal(pids.length, 2)
    assert.ok(pids.every(isRunning))
    await extra.stop()
    assert.ok(!pids.some(isRunning), 'etcd and kube-apiserver are gone after stop()')
  })
})

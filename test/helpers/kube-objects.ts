// Test helpers that create real objects on a local API server: namespaces, pods with the statuses a
// kubelet would write (imageID in each container runtime's format), workload owner chains, restricted
// users. There is no kubelet, scheduler or controller-manager: tests write what those would.
import {createHash, randomBytes} from 'node:crypto'
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1Container,
  type V1ContainerStatus,
  type V1OwnerReference,
  type V1Pod,
  type V1PodTemplateSpec,
} from '@kubernetes/client-node'
import type {LocalCluster} from '../controlplane/local-cluster.ts'
import {kubeconfigDocument} from '../controlplane/kubeconfig.ts'

/** The container runtimes whose imageID formats we reproduce. */
export type Runtime = 'containerd' | 'cri-o' | 'docker' | 'docker-local'

/** A fake but well-formed sha256 digest derived from a seed, so tests are deterministic. */
export function digestOf(seed: string): string {
  return `sha256:${createHash('sha256').update(seed).digest('hex')}`
}

function repositoryOf(reference: string): string {
  const withoutDigest = reference.split('@')[0] ?? reference
  const lastSlash = withoutDigest.lastIndexOf('/')
  const lastColon = withoutDigest.lastIndexOf(':')
  return lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest
}

/**
 * `status.containerStatuses[].imageID` as each runtime reports it:
 * containerd and CRI-O give the fully qualified repository digest, docker (cri-dockerd) prefixes
 * `docker-pullable://` and keeps the short name, and an image built locally under docker has only `docker://` + image id.
 */
export function imageIdFor(runtime: Runtime, reference: string, digest: string): string {
  const repository = repositoryOf(reference)
  const qualified = (() => {
    const first = repository.split('/')[0] ?? ''
    const hasHost = repository.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
    if (hasHost) return repository
    return repository.includes('/') ? `docker.io/${repository}` : `docker.io/library/${repository}`
  })()
  switch (runtime) {
    case 'containerd':
    case 'cri-o':
      return `${qualified}@${digest}`
    case 'docker':
      return `docker-pullable://${repository}@${digest}`
    case 'docker-local':
      return `docker://${digest}`
  }
}

function containerIdFor(runtime: Runtime, seed: string): string {
  const scheme = runtime === 'cri-o' ? 'cri-o' : runtime.startsWith('docker') ? 'docker' : 'containerd'
  return `${scheme}://${createHash('sha256').update(seed).digest('hex')}`
}

export interface ContainerSpec {
  name: string
  image: string
  /** The digest the runtime resolved; omit for a container that has not started (no imageID yet). */
  digest?: string
}

export interface PodSpec {
  name: string
  namespace: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  containers: ContainerSpec[]
  initContainers?: ContainerSpec[]
  ephemeralContainers?: ContainerSpec[]
  ownerReferences?: V1OwnerReference[]
  runtime?: Runtime
}

const toContainer = (c: ContainerSpec): V1Container => ({name: c.name, image: c.image})

function toStatus(c: ContainerSpec, runtime: Runtime, podName: string): V1ContainerStatus {
  const started = c.digest !== undefined
  return {
    name: c.name,
    image: c.image,
    imageID: started ? imageIdFor(runtime, c.image, c.digest as string) : '',
    ready: started,
    restartCount: 0,
    started,
    ...(started
      ? {containerID: containerIdFor(runtime, `${podName}/${c.name}`), state: {running: {startedAt: new Date()}}}
      : {state: {waiting: {reason: 'ContainerCreating'}}}),
  }
}

/** Admin access to one local cluster for building test scenarios. */
export class KubeFixture {
  readonly cluster: LocalCluster
  readonly kubeConfig: KubeConfig
  readonly core: CoreV1Api
  readonly apps: AppsV1Api
  readonly batch: BatchV1Api
  readonly rbac: RbacAuthorizationV1Api

  constructor(cluster: LocalCluster) {
    this.cluster = cluster
    this.kubeConfig = new KubeConfig()
    this.kubeConfig.loadFromString(JSON.stringify(kubeconfigDocument([{cluster}])))
    this.core = this.kubeConfig.makeApiClient(CoreV1Api)
    this.apps = this.kubeConfig.makeApiClient(AppsV1Api)
    this.batch = this.kubeConfig.makeApiClient(BatchV1Api)
    this.rbac = this.kubeConfig.makeApiClient(RbacAuthorizationV1Api)
  }

  async createNamespace(name: string, metadata: {labels?: Record<string, string>; annotations?: Record<string, string>} = {}): Promise<void> {
    await this.core.createNamespace({body: {metadata: {name, ...metadata}}})
  }

  /**
   * Creates a pod, then writes its status as a kubelet would (phase Running, one status per container
   * with the runtime's imageID), and adds ephemeral containers through their subresource.
   */
  async createPod(spec: PodSpec): Promise<V1Pod> {
    const runtime = spec.runtime ?? 'containerd'
    let pod = await this.core.createNamespacedPod({
      namespace: spec.namespace,
      body: {
        metadata: {
          name: spec.name,
          ...(spec.labels ? {labels: spec.labels} : {}),
          ...(spec.annotations ? {annotations: spec.annotations} : {}),
          ...(spec.ownerReferences ? {ownerReferences: spec.ownerReferences} : {}),
        },
        spec: {
          containers: spec.containers.map(toContainer),
          ...(spec.initContainers ? {initContainers: spec.initContainers.map(toContainer)} : {}),
        },
      },
    })
    if (spec.ephemeralContainers?.length) {
      pod.spec!.ephemeralContainers = spec.ephemeralContainers.map((c) => ({name: c.name, image: c.image, targetContainerName: spec.containers[0]?.name ?? ''}))
      pod = await this.core.replaceNamespacedPodEphemeralcontainers({name: spec.name, namespace: spec.namespace, body: pod})
    }
    pod.status = {
      phase: 'Running',
      podIP: '10.244.0.10',
      startTime: new Date(),
      containerStatuses: spec.containers.map((c) => toStatus(c, runtime, spec.name)),
      ...(spec.initContainers ? {initContainerStatuses: spec.initContainers.map((c) => toStatus(c, runtime, spec.name))} : {}),
      ...(spec.ephemeralContainers ? {ephemeralContainerStatuses: spec.ephemeralContainers.map((c) => toStatus(c, runtime, spec.name))} : {}),
    }
    return this.core.replaceNamespacedPodStatus({name: spec.name, namespace: spec.namespace, body: pod})
  }

  async readPod(namespace: string, name: string): Promise<V1Pod> {
    return this.core.readNamespacedPod({namespace, name})
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    await this.core.deleteNamespacedPod({namespace, name, gracePeriodSeconds: 0})
  }

  /**
   * A Deployment with its ReplicaSet and `replicas` pods owned by it, as the controllers would leave
   * them. Returns the pods.
   */
  async createDeployment(namespace: string, name: string, containers: ContainerSpec[], replicas = 1, runtime: Runtime = 'containerd'): Promise<V1Pod[]> {
    const labels = {app: name}
    const template: V1PodTemplateSpec = {metadata: {labels}, spec: {containers: containers.map(toContainer)}}
    const deployment = await this.apps.createNamespacedDeployment({namespace, body: {metadata: {name, labels}, spec: {replicas, selector: {matchLabels: labels}, template}}})
    const hash = randomBytes(5).toString('hex').slice(0, 9)
    const replicaSet = await this.apps.createNamespacedReplicaSet({
      namespace,
      body: {
        metadata: {name: `${name}-${hash}`, labels: {...labels, 'pod-template-hash': hash}, ownerReferences: [ownerReference('apps/v1', 'Deployment', deployment.metadata!)]},
        spec: {replicas, selector: {matchLabels: {...labels, 'pod-template-hash': hash}}, template: {...template, metadata: {labels: {...labels, 'pod-template-hash': hash}}}},
      },
    })
    return this.createOwnedPods(namespace, `${name}-${hash}`, containers, replicas, ownerReference('apps/v1', 'ReplicaSet', replicaSet.metadata!), runtime, {...labels, 'pod-template-hash': hash})
  }

  /** A CronJob, one Job it created, and that Job's pod. */
  async createCronJob(namespace: string, name: string, containers: ContainerSpec[], runtime: Runtime = 'containerd'): Promise<V1Pod[]> {
    const podTemplate = {spec: {restartPolicy: 'Never', containers: containers.map(toContainer)}}
    const cronJob = await this.batch.createNamespacedCronJob({namespace, body: {metadata: {name}, spec: {schedule: '*/5 * * * *', jobTemplate: {spec: {template: podTemplate}}}}})
    const jobName = `${name}-${Math.floor(Date.now() / 60_000)}`
    const job = await this.batch.createNamespacedJob({namespace, body: {metadata: {name: jobName, ownerReferences: [ownerReference('batch/v1', 'CronJob', cronJob.metadata!)]}, spec: {template: podTemplate}}})
    return this.createOwnedPods(namespace, jobName, containers, 1, ownerReference('batch/v1', 'Job', job.metadata!), runtime, {'job-name': jobName})
  }

  /** A StatefulSet or DaemonSet and `replicas` pods it owns. */
  async createSet(kind: 'StatefulSet' | 'DaemonSet', namespace: string, name: string, containers: ContainerSpec[], replicas = 1, runtime: Runtime = 'containerd'): Promise<V1Pod[]> {
    const labels = {app: name}
    const template: V1PodTemplateSpec = {metadata: {labels}, spec: {containers: containers.map(toContainer)}}
    const created = kind === 'StatefulSet'
      ? await this.apps.createNamespacedStatefulSet({namespace, body: {metadata: {name}, spec: {serviceName: name, replicas, selector: {matchLabels: labels}, template}}})
      : await this.apps.createNamespacedDaemonSet({namespace, body: {metadata: {name}, spec: {selector: {matchLabels: labels}, template}}})
    return this.createOwnedPods(namespace, name, containers, replicas, ownerReference('apps/v1', kind, created.metadata!), runtime, labels)
  }

  private async createOwnedPods(namespace: string, prefix: string, containers: ContainerSpec[], count: number, owner: V1OwnerReference, runtime: Runtime, labels: Record<string, string>): Promise<V1Pod[]> {
    const pods: V1Pod[] = []
    for (let i = 0; i < count; i++) {
      pods.push(await this.createPod({namespace, name: `${prefix}-${randomBytes(3).toString('hex').slice(0, 5)}`, labels, containers, ownerReferences: [owner], runtime}))
    }
    return pods
  }

  /**
   * A user authenticated by a client certificate, allowed only to list and watch pods in the given
   * namespaces (nothing cluster-wide). Returns credentials for a kubeconfig.
   */
  async createRestrictedUser(name: string, namespaces: string[]): Promise<{name: string; certPem: string; keyPem: string}> {
    const certificate = await this.cluster.pki.issue(`user-${name}`, {commonName: name})
    for (const namespace of namespaces) {
      await this.rbac.createNamespacedRole({namespace, body: {metadata: {name: `${name}-pod-reader`}, rules: [{apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch']}]}})
      await this.rbac.createNamespacedRoleBinding({
        namespace,
        body: {metadata: {name: `${name}-pod-reader`}, roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${name}-pod-reader`}, subjects: [{kind: 'User', name, apiGroup: 'rbac.authorization.k8s.io'}]},
      })
    }
    return {name, certPem: certificate.certPem, keyPem: certificate.keyPem}
  }
}

function ownerReference(apiVersion: string, kind: string, metadata: {name?: string; uid?: string}): V1OwnerReference {
  return {apiVersion, kind, name: metadata.name!, uid: metadata.uid!, controller: true, blockOwnerDeletion: true}
}

// A realistic, deterministic fleet of pods for one cluster, as plain Kubernetes objects ready to POST:
// namespaces, ReplicaSets and Jobs (what the pod lister reads to resolve workloads), and pods with
// init containers, sidecars, labels, annotations, ownerReferences, probes, volumes, and the status a
// kubelet would write (container statuses with the runtime's imageID).
//
// The same seed and pod count always give the same fleet, and the first n pods of a fleet of m > n
// pods are the fleet of n pods, so a benchmark can grow a cluster step by step. What the sync run must
// find (pods, containers, unique images) is computed here from what is written, independently of the
// code under test.
import {createHash} from 'node:crypto'
import {digestOf, imageIdFor, type Runtime} from '../test/helpers/kube-objects.ts'

/** One image as written in pod specs, with its canonical name (what deduplication is keyed on). */
export interface FleetImage {
  /** As written in `spec.containers[].image`. */
  reference: string
  /** `registry/repository`, normalised (`docker.io/library/nginx`). */
  repository: string
  tag: string
  /** The digest the runtime resolved; pinned references run the digest they name. */
  digest: string
}

export interface FleetObject {
  /** API path to POST the object to. */
  path: string
  body: object
}

export interface FleetPod {
  namespace: string
  name: string
  /** The pod as created (status is dropped by the API server on create). */
  body: object
  /** The status a kubelet would write, sent through the status subresource. */
  status: object
  /** Namespaces, ReplicaSets and Jobs this pod needs to exist first (keys of FleetPlan.objects). */
  needs: string[]
  /**
   * The ReplicaSet or Job that owns the pod (a key of FleetPlan.objects): the server assigns its uid,
   * which the seeder writes into the pod's ownerReference (left empty in `body`).
   */
  ownerPath?: string
  containers: number
  /** Dedupe keys of the images this pod runs: `repository@digest`, or `repository:tag` when not started and not pinned. */
  imageKeys: string[]
}

export interface FleetPlan {
  cluster: string
  runtime: Runtime
  /** Namespaces, ReplicaSets and Jobs by API path, in creation order. */
  objects: Map<string, FleetObject>
  pods: FleetPod[]
}

/** Counts a sync run over the first `count` pods of each plan must report. */
export interface FleetExpectation {
  pods: number
  containers: number
  images: number
}

// --- Image catalogue: ~150 references over the registries a real fleet pulls from. ---

interface ImageSource {
  registry: string
  /** Repository as stored (with `library/` for Docker Hub official images). */
  repository: string
  tags: string[]
  /** How references are written: short Docker Hub form, fully qualified, or pinned by digest. */
  written?: 'short' | 'qualified' | 'pinned'
}

const dockerOfficial = (name: string, tags: string[]): ImageSource => ({registry: 'docker.io', repository: `library/${name}`, tags, written: 'short'})
const ghcrServices = ['api', 'web', 'auth', 'billing', 'cart', 'catalog', 'checkout', 'search', 'notifications', 'orders', 'payments', 'inventory', 'shipping', 'reviews', 'recommendations', 'users', 'gateway', 'reports', 'media', 'analytics', 'scheduler', 'mailer', 'pricing', 'ledger', 'audit', 'export', 'import', 'profile', 'sessions', 'webhooks']
const ecrServices = ['risk-engine', 'fraud-scorer', 'settlement', 'kyc', 'fx-rates', 'statements', 'card-issuing', 'disputes']

/** App images: the bulk, two releases of each service in flight (a rollout in progress somewhere). */
const appSources: ImageSource[] = [
  ...ghcrServices.map((name, i) => ({registry: 'ghcr.io', repository: `acme/${name}`, tags: [`1.${i}.${(i * 7) % 13}`, `1.${i}.${((i * 7) % 13) + 1}`]})),
  ...ecrServices.map((name, i) => ({registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: `payments/${name}`, tags: [`2024.${10 + (i % 3)}.${i + 1}`, `2025.0${1 + (i % 8)}.${i + 3}`]})),
  {registry: 'registry.acme.internal:5000', repository: 'legacy/monolith', tags: ['7.3.1', '7.3.2']},
  {registry: 'registry.acme.internal:5000', repository: 'legacy/batch-runner', tags: ['3.0.0']},
]

/** Off-the-shelf services run as StatefulSets, Deployments and DaemonSets. */
const infraSources: ImageSource[] = [
  dockerOfficial('postgres', ['15.8', '16.4', '16.6']),
  dockerOfficial('redis', ['7.2.5', '7.4.1']),
  dockerOfficial('memcached', ['1.6.29']),
  dockerOfficial('rabbitmq', ['3.13-management']),
  dockerOfficial('mongo', ['7.0.14']),
  dockerOfficial('nginx', ['1.26.2', '1.27.2', '1.27.3-alpine']),
  {registry: 'docker.io', repository: 'library/nginx', tags: ['1.27.2'], written: 'qualified'},
  dockerOfficial('traefik', ['v3.1.4']),
  {registry: 'docker.io', repository: 'bitnami/kafka', tags: ['3.8.0', '3.7.1']},
  {registry: 'docker.io', repository: 'grafana/grafana', tags: ['11.2.0']},
  {registry: 'docker.io', repository: 'grafana/loki', tags: ['3.1.1']},
  {registry: 'quay.io', repository: 'prometheus/prometheus', tags: ['v2.54.1']},
  {registry: 'quay.io', repository: 'prometheus/node-exporter', tags: ['v1.8.2']},
  {registry: 'quay.io', repository: 'prometheus/alertmanager', tags: ['v0.27.0']},
  {registry: 'quay.io', repository: 'jetstack/cert-manager-controller', tags: ['v1.15.3']},
  {registry: 'quay.io', repository: 'jetstack/cert-manager-webhook', tags: ['v1.15.3']},
  {registry: 'quay.io', repository: 'argoproj/argocd', tags: ['v2.12.3']},
  {registry: 'registry.k8s.io', repository: 'coredns/coredns', tags: ['v1.11.3']},
  {registry: 'registry.k8s.io', repository: 'kube-state-metrics/kube-state-metrics', tags: ['v2.13.0']},
  {registry: 'registry.k8s.io', repository: 'ingress-nginx/controller', tags: ['v1.11.2'], written: 'pinned'},
  {registry: 'registry.k8s.io', repository: 'metrics-server/metrics-server', tags: ['v0.7.2']},
  {registry: 'registry.k8s.io', repository: 'kube-proxy', tags: ['v1.34.4']},
  {registry: 'docker.io', repository: 'calico/node', tags: ['v3.28.2']},
  {registry: 'docker.io', repository: 'fluent/fluent-bit', tags: ['3.1.9']},
  {registry: 'docker.io', repository: 'datadog/agent', tags: ['7.57.2']},
  {registry: 'gcr.io', repository: 'cadvisor/cadvisor', tags: ['v0.49.1']},
  {registry: 'docker.elastic.co', repository: 'elasticsearch/elasticsearch', tags: ['8.15.2']},
]

const sidecarSources: ImageSource[] = [
  {registry: 'docker.io', repository: 'envoyproxy/envoy', tags: ['v1.31.2']},
  {registry: 'docker.io', repository: 'istio/proxyv2', tags: ['1.23.2', '1.22.5']},
  {registry: 'docker.io', repository: 'fluent/fluent-bit', tags: ['3.1.9']},
  {registry: 'docker.io', repository: 'hashicorp/vault', tags: ['1.17.6']},
  {registry: 'ghcr.io', repository: 'acme/metrics-exporter', tags: ['0.9.4']},
  {registry: 'docker.io', repository: 'otel/opentelemetry-collector-contrib', tags: ['0.110.0']},
]

const initSources: ImageSource[] = [
  dockerOfficial('busybox', ['1.36.1', '1.37.0']),
  dockerOfficial('alpine', ['3.20.3']),
  {registry: 'ghcr.io', repository: 'acme/db-migrate', tags: ['4.2.0', '4.3.0']},
  {registry: 'docker.io', repository: 'istio/proxyv2', tags: ['1.23.2']},
  {registry: 'docker.io', repository: 'curlimages/curl', tags: ['8.10.1']},
]

function shortRepository(source: ImageSource): string {
  if (source.registry !== 'docker.io') return `${source.registry}/${source.repository}`
  return source.repository.startsWith('library/') ? source.repository.slice('library/'.length) : source.repository
}

function imagesOf(sources: ImageSource[]): FleetImage[] {
  return sources.flatMap((source) =>
    source.tags.map((tag) => {
      const repository = `${source.registry}/${source.repository}`
      const digest = digestOf(`${repository}:${tag}`)
      const written = source.written === 'qualified' ? `${repository}:${tag}` : `${shortRepository(source)}:${tag}`
      return {reference: source.written === 'pinned' ? `${written}@${digest}` : written, repository, tag, digest}
    }),
  )
}

const catalogue = {apps: imagesOf(appSources), infra: imagesOf(infraSources), sidecars: imagesOf(sidecarSources), inits: imagesOf(initSources)}

// --- Deterministic randomness. ---

/** mulberry32: a small seeded PRNG, so every run seeds the same fleet. */
export function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const hex = (seed: string, length: number): string => createHash('sha256').update(seed).digest('hex').slice(0, length)
const suffix = (seed: string): string => hex(seed, 5).replace(/[0-9]/g, (d) => 'bcdfghjklm'[Number(d)]!)
const uid = (seed: string): string => {
  const h = hex(seed, 32)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

// --- Pod construction. ---

interface ContainerPlan {
  name: string
  image: FleetImage
}

interface WorkloadPlan {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Pod'
  name: string
  namespace: string
  team: string
  inits: ContainerPlan[]
  containers: ContainerPlan[]
  replicas: number
}

const teams = ['platform', 'payments', 'growth', 'search', 'data', 'identity', 'checkout', 'sre']
const started = new Date(Date.UTC(2025, 0, 15, 8, 30, 0)).toISOString()

function container(plan: ContainerPlan, kind: 'init' | 'app' | 'sidecar', index: number): object {
  const port = 8080 + index
  return {
    name: plan.name,
    image: plan.image.reference,
    imagePullPolicy: 'IfNotPresent',
    ...(kind === 'init'
      ? {command: ['/bin/sh', '-c', 'until nc -z db 5432; do sleep 1; done']}
      : {
          ports: [{name: `http-${index}`, containerPort: port, protocol: 'TCP'}],
          readinessProbe: {httpGet: {path: '/ready', port, scheme: 'HTTP'}, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3},
          livenessProbe: {httpGet: {path: '/healthz', port, scheme: 'HTTP'}, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3},
        }),
    env: [
      {name: 'LOG_LEVEL', value: 'info'},
      {name: 'POD_NAME', valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'metadata.name'}}},
      {name: 'POD_NAMESPACE', valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'metadata.namespace'}}},
      {name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector.observability:4317'},
    ],
    resources: kind === 'sidecar' ? {requests: {cpu: '50m', memory: '64Mi'}, limits: {memory: '128Mi'}} : {requests: {cpu: '250m', memory: '256Mi'}, limits: {cpu: '1', memory: '512Mi'}},
    volumeMounts: [
      {name: 'config', mountPath: '/etc/app', readOnly: true},
      {name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true},
    ],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: {drop: ['ALL']}},
  }
}

function containerStatus(plan: ContainerPlan, runtime: Runtime, podSeed: string, state: 'running' | 'completed' | 'waiting'): object {
  const base = {name: plan.name, image: `${plan.image.repository}:${plan.image.tag}`, restartCount: 0}
  if (state === 'waiting') return {...base, imageID: '', ready: false, started: false, state: {waiting: {reason: 'ContainerCreating'}}, lastState: {}}
  const containerID = `${runtime === 'cri-o' ? 'cri-o' : runtime.startsWith('docker') ? 'docker' : 'containerd'}://${hex(`${podSeed}/${plan.name}`, 64)}`
  const imageID = imageIdFor(runtime, plan.image.reference, plan.image.digest)
  if (state === 'completed') {
    return {...base, imageID, containerID, ready: true, started: false, state: {terminated: {exitCode: 0, reason: 'Completed', startedAt: started, finishedAt: started, containerID}}, lastState: {}}
  }
  return {...base, imageID, containerID, ready: true, started: true, state: {running: {startedAt: started}}, lastState: {}}
}

function podObjects(workload: WorkloadPlan, podName: string, owner: {apiVersion: string; kind: string; name: string; uid: string} | undefined, labels: Record<string, string>, runtime: Runtime, pending: boolean, node: string): {body: object; status: object} {
  const body = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName,
      namespace: workload.namespace,
      labels: {...labels, 'app.kubernetes.io/name': workload.name, 'app.kubernetes.io/part-of': workload.team, 'app.kubernetes.io/managed-by': 'Helm', team: workload.team},
      annotations: {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
        'checksum/config': hex(`${workload.namespace}/${workload.name}/config`, 64),
        'kubectl.kubernetes.io/restartedAt': '2025-01-10T12:00:00Z',
        'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true',
      },
      ...(owner ? {ownerReferences: [{...owner, controller: true, blockOwnerDeletion: true}]} : {}),
    },
    spec: {
      ...(workload.inits.length > 0 ? {initContainers: workload.inits.map((c, i) => container(c, 'init', i))} : {}),
      containers: workload.containers.map((c, i) => container(c, i === 0 ? 'app' : 'sidecar', i)),
      volumes: [
        {name: 'config', configMap: {name: `${workload.name}-config`, defaultMode: 420}},
        {
          name: 'kube-api-access',
          projected: {
            defaultMode: 420,
            sources: [
              {serviceAccountToken: {expirationSeconds: 3607, path: 'token'}},
              {configMap: {name: 'kube-root-ca.crt', items: [{key: 'ca.crt', path: 'ca.crt'}]}},
              {downwardAPI: {items: [{path: 'namespace', fieldRef: {apiVersion: 'v1', fieldPath: 'metadata.namespace'}}]}},
            ],
          },
        },
      ],
      nodeName: node,
      serviceAccountName: 'default',
      restartPolicy: workload.kind === 'CronJob' ? 'OnFailure' : 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      securityContext: {runAsUser: 10001, fsGroup: 10001, seccompProfile: {type: 'RuntimeDefault'}},
      tolerations: [
        {key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300},
        {key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300},
      ],
    },
  }
  const seed = `${workload.namespace}/${podName}`
  const conditions = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
    type,
    status: pending && (type === 'Ready' || type === 'ContainersReady') ? 'False' : 'True',
    lastProbeTime: null,
    lastTransitionTime: started,
  }))
  const status = {
    phase: pending ? 'Pending' : 'Running',
    conditions,
    hostIP: '10.0.12.34',
    hostIPs: [{ip: '10.0.12.34'}],
    podIP: '10.244.3.17',
    podIPs: [{ip: '10.244.3.17'}],
    startTime: started,
    qosClass: 'Burstable',
    ...(workload.inits.length > 0 ? {initContainerStatuses: workload.inits.map((c) => containerStatus(c, runtime, seed, 'completed'))} : {}),
    // A pending pod: its app container is still being created (no imageID yet); its sidecars run.
    containerStatuses: workload.containers.map((c, i) => containerStatus(c, runtime, seed, pending && i === 0 ? 'waiting' : 'running')),
  }
  return {body, status}
}

/** The digest the runtime resolved, else the one the reference is pinned to; the tag when neither is known. */
function keyOf(plan: ContainerPlan, startedContainer: boolean): string {
  const pinned = plan.image.reference.includes('@')
  return startedContainer || pinned ? `${plan.image.repository}@${plan.image.digest}` : `${plan.image.repository}:${plan.image.tag}`
}

/**
 * The fleet of one cluster. `clusterIndex` chooses the runtime and which part of the catalogue the
 * cluster runs (the clusters share the infrastructure images and most app images).
 */
export function planFleet(cluster: string, clusterIndex: number, podCount: number): FleetPlan {
  const rand = random(0x5eed + clusterIndex * 7919)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!
  const runtimes: Runtime[] = ['containerd', 'cri-o', 'docker']
  const runtime = runtimes[clusterIndex % runtimes.length]!
  // Each cluster runs about three quarters of the app images: the clusters overlap but differ.
  const apps = catalogue.apps.filter((_, i) => (i + clusterIndex) % 4 !== 0)
  // One tag that moved: `ghcr.io/acme/api:latest` resolves to a different digest in each cluster.
  const movedTag: FleetImage = {reference: 'ghcr.io/acme/api:latest', repository: 'ghcr.io/acme/api', tag: 'latest', digest: digestOf(`ghcr.io/acme/api:latest@${cluster}`)}

  const namespaceCount = Math.max(8, Math.ceil(podCount / 250))
  const namespaces = Array.from({length: namespaceCount}, (_, i) => `${pick(teams)}-${['prod', 'staging', 'jobs', 'edge', 'core'][i % 5]}-${i}`)
  const objects = new Map<string, FleetObject>()
  const nodes = Math.max(3, Math.ceil(podCount / 60))
  const pods: FleetPod[] = []
  const podNames = new Set<string>()
  let workloadIndex = 0

  while (pods.length < podCount) {
    const roll = rand()
    const kind: WorkloadPlan['kind'] = roll < 0.7 ? 'Deployment' : roll < 0.8 ? 'StatefulSet' : roll < 0.87 ? 'DaemonSet' : roll < 0.95 ? 'CronJob' : 'Pod'
    const namespace = pick(namespaces)
    const team = namespace.split('-')[0]!
    const main = kind === 'StatefulSet' || kind === 'DaemonSet' ? pick(catalogue.infra) : workloadIndex % 97 === 13 ? movedTag : rand() < 0.8 ? pick(apps) : pick(catalogue.infra)
    const base = main.repository.split('/').pop()!.replace(/[^a-z0-9-]/g, '-')
    const name = `${base}-${workloadIndex}`
    const sidecars = rand() < 0.55 ? (rand() < 0.3 ? 2 : 1) : 0
    const inits = kind === 'DaemonSet' ? 0 : rand() < 0.6 ? (rand() < 0.25 ? 2 : 1) : 0
    const workload: WorkloadPlan = {
      kind,
      name,
      namespace,
      team,
      inits: Array.from({length: inits}, (_, i) => ({name: `init-${i}`, image: pick(catalogue.inits)})),
      containers: [{name: 'main', image: main}, ...Array.from({length: sidecars}, (_, i) => ({name: `sidecar-${i}`, image: pick(catalogue.sidecars)}))],
      replicas: kind === 'DaemonSet' ? nodes : kind === 'Pod' || kind === 'CronJob' ? 1 : 1 + Math.floor(rand() * rand() * 20),
    }
    workloadIndex++

    const namespacePath = `/api/v1/namespaces/${namespace}`
    if (!objects.has(namespacePath)) {
      objects.set(namespacePath, {path: '/api/v1/namespaces', body: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace, labels: {team, 'kubernetes.io/metadata.name': namespace}}}})
    }
    const needs = [namespacePath]
    const selector = {'app.kubernetes.io/instance': name}
    let owner: {apiVersion: string; kind: string; name: string; uid: string} | undefined
    let ownerPath: string | undefined
    let labels: Record<string, string> = {...selector}
    const template = {metadata: {labels: selector}, spec: {containers: workload.containers.map((c) => ({name: c.name, image: c.image.reference}))}}
    if (kind === 'Deployment') {
      // No controller-manager runs: the ReplicaSet is written as the Deployment controller would leave it.
      const hash = hex(`${namespace}/${name}/template`, 10).replace(/[0-9]/g, (d) => 'bcdfghjklm'[Number(d)]!)
      const replicaSet = `${name}-${hash}`
      labels = {...selector, 'pod-template-hash': hash}
      const path = `/apis/apps/v1/namespaces/${namespace}/replicasets`
      objects.set(`${path}/${replicaSet}`, {
        path,
        body: {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {name: replicaSet, labels, ownerReferences: [{apiVersion: 'apps/v1', kind: 'Deployment', name, uid: uid(`${namespace}/${name}`), controller: true, blockOwnerDeletion: true}]},
          spec: {replicas: workload.replicas, selector: {matchLabels: labels}, template: {...template, metadata: {labels}}},
        },
      })
      needs.push(`${path}/${replicaSet}`)
      owner = {apiVersion: 'apps/v1', kind: 'ReplicaSet', name: replicaSet, uid: ''}
      ownerPath = `${path}/${replicaSet}`
    } else if (kind === 'CronJob') {
      const job = `${name}-${28_950_000 + workloadIndex}`
      const path = `/apis/batch/v1/namespaces/${namespace}/jobs`
      labels = {...selector, 'job-name': job}
      objects.set(`${path}/${job}`, {
        path,
        body: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: {name: job, labels: selector, ownerReferences: [{apiVersion: 'batch/v1', kind: 'CronJob', name, uid: uid(`${namespace}/${name}`), controller: true, blockOwnerDeletion: true}]},
          spec: {manualSelector: true, selector: {matchLabels: selector}, template: {metadata: {labels: selector}, spec: {...template.spec, restartPolicy: 'OnFailure'}}},
        },
      })
      needs.push(`${path}/${job}`)
      owner = {apiVersion: 'batch/v1', kind: 'Job', name: job, uid: ''}
      ownerPath = `${path}/${job}`
    } else if (kind === 'StatefulSet' || kind === 'DaemonSet') {
      owner = {apiVersion: 'apps/v1', kind, name, uid: uid(`${namespace}/${name}`)}
    }

    for (let replica = 0; replica < workload.replicas && pods.length < podCount; replica++) {
      let podName = kind === 'StatefulSet' ? `${name}-${replica}` : kind === 'Pod' ? name : ''
      // Generated names (ReplicaSet, DaemonSet, Job pods) get a random-looking suffix, unique as the controllers make it.
      for (let salt = 0; podName === '' || podNames.has(`${namespace}/${podName}`); salt++) podName = `${owner?.name ?? name}-${suffix(`${namespace}/${name}/${replica}/${salt}`)}`
      podNames.add(`${namespace}/${podName}`)
      const pending = rand() < 0.01
      const node = `node-${kind === 'DaemonSet' ? replica : Math.floor(rand() * nodes)}`
      const {body, status} = podObjects(workload, podName, owner, labels, runtime, pending, node)
      pods.push({
        namespace,
        name: podName,
        body,
        status,
        needs,
        ...(ownerPath ? {ownerPath} : {}),
        containers: workload.inits.length + workload.containers.length,
        imageKeys: [...workload.inits.map((c) => keyOf(c, true)), ...workload.containers.map((c, i) => keyOf(c, !(pending && i === 0)))],
      })
    }
  }
  return {cluster, runtime, objects, pods}
}

/** What a sync over the first `count` pods of every plan must find. */
export function expectationOf(plans: readonly FleetPlan[], count: number): FleetExpectation {
  const keys = new Set<string>()
  let containers = 0
  let pods = 0
  for (const plan of plans) {
    for (const pod of plan.pods.slice(0, count)) {
      pods++
      containers += pod.containers
      for (const key of pod.imageKeys) keys.add(key)
    }
  }
  return {pods, containers, images: keys.size}
}

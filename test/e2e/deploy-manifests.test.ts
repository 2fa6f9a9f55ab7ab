// deploy/ on a real API server: the plain manifests (watch Deployment, sync CronJob) and the Helm chart in both
// modes are accepted by the server (dry run), pass the restricted Pod Security Standard, run the package
// version's image hardened, and their service accounts may do exactly what the command needs: checked with
// `kubectl auth can-i` on the really applied RBAC, and by running sync and watch with those accounts' tokens.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {after, before, describe, it, type TestContext} from 'node:test'
import {fileURLToPath} from 'node:url'
import {parse, parseAllDocuments} from 'yaml'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../helpers/clusters.ts'
import {digestOf} from '../helpers/kube-objects.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {until} from '../helpers/watch-fixture.ts'
import {ensureGoTool, helm as helmTool} from '../tools/go-tools.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const deployDir = path.join(root, 'deploy')
const chartDir = path.join(deployDir, 'chart')
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string}).version
const expectedImage = `ghcr.io/snyk-watch/kubectl-snyk-watch:${version}`
// sync and watch from the sources: what is tested here is what the service accounts may do, not the build.
const cli = path.join(root, 'bin', 'dev.js')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
    child.stdin.end(input ?? '')
  })
}

// The parts of the objects the assertions read.
interface Container {
  name: string
  image: string
  args?: string[]
  env?: Array<{name: string; value?: string; valueFrom?: {secretKeyRef?: {name: string; key: string}}}>
  ports?: Array<{name?: string; containerPort: number}>
  livenessProbe?: {httpGet?: {path: string}}
  readinessProbe?: {httpGet?: {path: string}}
  resources?: {requests?: Record<string, string>; limits?: Record<string, string>}
  securityContext?: {allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: {drop?: string[]}}
  volumeMounts?: Array<{name: string; mountPath: string; readOnly?: boolean}>
  terminationMessagePolicy?: string
}
interface PodSpec {
  serviceAccountName?: string
  restartPolicy?: string
  securityContext?: {runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number; seccompProfile?: {type: string}}
  containers: Container[]
  initContainers?: Container[]
  volumes?: Array<{name: string; emptyDir?: object; persistentVolumeClaim?: {claimName: string}; secret?: {secretName: string; items?: Array<{key: string; path: string}>}}>
}
interface PodFailurePolicyRule {
  action: string
  onExitCodes?: {containerName?: string; operator: string; values: number[]}
  onPodConditions?: Array<{type: string}>
}
interface Rule {
  apiGroups: string[]
  resources: string[]
  resourceNames?: string[]
  verbs: string[]
}
interface KubeObject {
  apiVersion: string
  kind: string
  metadata: {name: string; namespace?: string; annotations?: Record<string, string>}
  data?: Record<string, string>
  rules?: Rule[]
  roleRef?: {kind: string; name: string}
  subjects?: Array<{kind: string; name: string; namespace?: string}>
  spec?: {
    replicas?: number
    schedule?: string
    concurrencyPolicy?: string
    template?: {metadata?: {annotations?: Record<string, string>}; spec: PodSpec}
    jobTemplate?: {spec: {backoffLimit?: number; podFailurePolicy?: {rules: PodFailurePolicyRule[]}; template: {spec: PodSpec}}}
  }
}

function objectsOf(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null)
}

const one = (objects: KubeObject[], kind: string): KubeObject => {
  const found = objects.filter((object) => object.kind === kind)
  assert.equal(found.length, 1, `one ${kind} in ${objects.map((o) => o.kind).join(', ')}`)
  return found[0]!
}

function podSpecOf(workload: KubeObject): PodSpec {
  const spec = workload.kind === 'CronJob' ? workload.spec?.jobTemplate?.spec.template.spec : workload.spec?.template?.spec
  assert.ok(spec, `${workload.kind} ${workload.metadata.name} has a pod template`)
  return spec
}

/** The value of `--flag=value` (or `--flag value`) in args. */
function flag(args: string[], name: string): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3)
    if (arg === `--${name}`) return args[i + 1]
  }
  return undefined
}

/** The volume mounted at the directory holding `file`. */
function volumeHolding(pod: PodSpec, container: Container, file: string) {
  const mount = container.volumeMounts?.find((m) => path.posix.dirname(file) === m.mountPath)
  assert.ok(mount, `${file} is on a mounted volume`)
  const volume = pod.volumes?.find((v) => v.name === mount.name)
  assert.ok(volume, `volume ${mount.name} exists`)
  return {mount, volume}
}

/**
 * What every workload of deploy/ must be: the package version's image, the command first, non-root with a
 * read-only root filesystem and no capabilities, memory requested and limited, the token from a Secret.
 * Returns the one container.
 */
function assertHardenedWorkload(workload: KubeObject, command: 'watch' | 'sync', secretName: string): Container {
  const where = `${workload.kind} ${workload.metadata.name}`
  const pod = podSpecOf(workload)
  assert.equal(pod.containers.length, 1, where)
  assert.equal(pod.initContainers, undefined, where)
  const container = pod.containers[0]!
  assert.equal(container.image, expectedImage, `${where}: the image is the package version's`)
  assert.equal(container.args?.[0], command, `${where}: the entrypoint is kubectl-snyk_watch, the command its first argument`)
  assert.equal(pod.securityContext?.runAsNonRoot, true, where)
  assert.equal(pod.securityContext?.runAsUser, 65532, where)
  assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', where)
  assert.equal(container.securityContext?.readOnlyRootFilesystem, true, where)
  assert.equal(container.securityContext?.allowPrivilegeEscalation, false, where)
  assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL'], where)
  assert.ok(container.resources?.requests?.memory && container.resources.limits?.memory, `${where}: memory requested and limited`)
  assert.ok(container.resources.requests.cpu, `${where}: CPU requested`)
  // The token: a file from the Secret (--token-file), never a literal value.
  assert.ok(!container.env?.some((e) => e.name === 'SNYK_TOKEN' && e.value !== undefined), `${where}: no token in the manifest`)
  const tokenFile = flag(container.args ?? [], 'token-file')
  assert.ok(tokenFile, `${where}: --token-file`)
  const {mount, volume} = volumeHolding(pod, container, tokenFile)
  assert.equal(mount.readOnly, true, where)
  assert.equal(volume.secret?.secretName, secretName, `${where}: the token comes from Secret ${secretName}`)
  assert.ok(volume.secret.items?.some((item) => item.path === path.posix.basename(tokenFile)), `${where}: the Secret's key is the token file`)
  return container
}

function assertHourlySyncCronJob(objects: KubeObject[], secretName: string): void {
  const cronJob = one(objects, 'CronJob')
  const container = assertHardenedWorkload(cronJob, 'sync', secretName)
  assert.match(cronJob.spec?.schedule ?? '', /^([0-5]?\d \* \* \* \*|@hourly)$/, 'hourly')
  assert.equal(cronJob.spec?.concurrencyPolicy, 'Forbid')
  const job = cronJob.spec!.jobTemplate!.spec
  const pod = podSpecOf(cronJob)
  assert.equal(pod.restartPolicy, 'Never', 'the failed pod stays, with its exit code')
  assert.equal(container.terminationMessagePolicy, 'FallbackToLogsOnError')
  // A partial failure (3) or a configuration error (2) fails the Job at once; only crashes are retried, once.
  assert.ok((job.backoffLimit ?? 6) <= 1, `backoffLimit ${job.backoffLimit}`)
  const failJob = job.podFailurePolicy?.rules.find((rule) => rule.action === 'FailJob')
  assert.equal(failJob?.onExitCodes?.operator, 'In')
  assert.equal(failJob.onExitCodes.containerName, container.name)
  for (const code of [2, 3]) assert.ok(failJob.onExitCodes.values.includes(code), `exit ${code} fails the Job`)
  // The state store is on the PersistentVolumeClaim, so each run submits only what changed.
  const state = flag(container.args ?? [], 'state')
  assert.ok(state, '--state')
  const {volume} = volumeHolding(pod, container, state)
  const claim = one(objects, 'PersistentVolumeClaim')
  assert.equal(volume.persistentVolumeClaim?.claimName, claim.metadata.name)
}

/** The watch Deployment with several replicas: leader election on a Lease its Role allows, probes, metrics. */
function assertLeaderElectedWatch(objects: KubeObject[], secretName: string): {leaseName: string} {
  const deployment = one(objects, 'Deployment')
  const container = assertHardenedWorkload(deployment, 'watch', secretName)
  const args = container.args ?? []
  assert.equal(deployment.spec?.replicas, 2)
  assert.ok(args.includes('--leader-elect'), 'several replicas elect a leader')
  const leaseName = flag(args, 'leader-elect-name') ?? 'kubectl-snyk-watch'
  const role = one(objects, 'Role')
  assert.equal(role.metadata.namespace, deployment.metadata.namespace)
  assert.deepEqual(role.rules, [
    {apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create']},
    {apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [leaseName], verbs: ['get', 'update']},
  ])
  const binding = one(objects, 'RoleBinding')
  assert.deepEqual(binding.roleRef, {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name})
  assert.deepEqual(binding.subjects, [{kind: 'ServiceAccount', name: podSpecOf(deployment).serviceAccountName, namespace: deployment.metadata.namespace}])
  const port = Number((flag(args, 'listen') ?? ':8080').split(':').pop())
  assert.deepEqual(container.ports?.map((p) => p.containerPort), [port])
  assert.equal(container.livenessProbe?.httpGet?.path, '/healthz')
  assert.equal(container.readinessProbe?.httpGet?.path, '/readyz')
  const annotations = deployment.spec?.template?.metadata?.annotations ?? {}
  assert.equal(annotations['prometheus.io/scrape'], 'true')
  assert.equal(annotations['prometheus.io/port'], String(port))
  assert.equal(annotations['snyk-watch.io/ignore'], 'true', 'its own pods are not submitted')
  return {leaseName}
}

describe('deploy/: manifests and Helm chart on a real API server', () => {
  let set: ClusterSet
  let kubeconfig: string
  let helmBinary: string
  let helmEnv: NodeJS.ProcessEnv

  before(async () => {
    const [clusters, binary] = await Promise.all([startClusters(1, {names: ['deploy']}), ensureGoTool(helmTool, (line) => console.error(line))])
    set = clusters
    helmBinary = binary
    kubeconfig = await writeKubeconfig(path.join(set.workDir, 'config'), [{name: 'deploy', cluster: set.clusters[0]!}])
    const helmHome = path.join(set.workDir, 'helm')
    helmEnv = {PATH: process.env.PATH, HOME: set.workDir, HELM_CACHE_HOME: `${helmHome}/cache`, HELM_CONFIG_HOME: `${helmHome}/config`, HELM_DATA_HOME: `${helmHome}/data`}
    // Every namespace the objects go to enforces the restricted Pod Security Standard, and warns about it.
    for (const namespace of ['snyk-watch', 'team-a', 'nightly']) {
      await set.fixtures[0]!.createNamespace(namespace, {labels: {'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted'}})
    }
  })
  after(() => set?.stop())

  const kubectl = (args: string[], input?: string) => run(set.binaries.kubectl, args, {PATH: process.env.PATH, HOME: set.workDir, KUBECONFIG: kubeconfig}, input)
  const helm = (args: string[]) => run(helmBinary, args, helmEnv)

  /** Applies for real after a server-side dry run that must pass without a warning (Pod Security ones included). */
  const apply = async (source: {file: string} | {text: string}) => {
    const args = 'file' in source ? ['-f', source.file] : ['-f', '-']
    const input = 'text' in source ? source.text : undefined
    const dry = await kubectl(['apply', '--dry-run=server', ...args], input)
    assert.equal(dry.code, 0, dry.stderr)
    assert.equal(dry.stderr, '', 'no warning from the server')
    assert.match(dry.stdout, /\(server dry run\)/)
    const real = await kubectl(['apply', ...args], input)
    assert.equal(real.code, 0, real.stderr)
  }

  const template = async (release: string, namespace: string, values: string[]) => {
    const rendered = await helm(['template', release, chartDir, '--namespace', namespace, ...values.flatMap((value) => ['--set', value])])
    assert.equal(rendered.code, 0, rendered.stderr)
    return rendered.stdout
  }

  /** `kubectl auth can-i` as a service account: true for yes. */
  const can = async (account: string, verb: string, resource: string, scope: string[]) => {
    const answer = await kubectl(['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${account}`, ...scope])
    assert.ok(answer.code === 0 || answer.code === 1, answer.stderr)
    return answer.code === 0
  }

  /**
   * The account's rules beyond what every authenticated account has (a fresh service account of the same
   * namespace is the baseline), as `resource [names] [verbs]` lines from `kubectl auth can-i --list`.
   */
  const extraRules = async (account: string, namespace: string): Promise<string[]> => {
    const list = async (who: string) => {
      const answer = await kubectl(['auth', 'can-i', '--list', `--as=system:serviceaccount:${who}`, '-n', namespace])
      assert.equal(answer.code, 0, answer.stderr)
      return answer.stdout.split('\n').slice(1).map((line) => line.trim().split(/\s{2,}/)).filter((cells) => cells.length === 4)
        .map(([resource, urls, names, verbs]) => `${resource} ${urls} ${names} ${verbs}`)
    }
    const baseline = new Set(await list(`${namespace}:nobody`))
    return (await list(account)).filter((line) => !baseline.has(line)).sort()
  }

  /** Everything a watch or sync account must not do, whatever its mode. */
  const forbiddenToAll = (namespace: string): Array<[string, string, string[]]> => [
    ['*', '*', ['-A']],
    ['get', 'secrets', ['-n', namespace]],
    ['list', 'secrets', ['-A']],
    ['watch', 'secrets', ['-A']],
    ['get', 'configmaps', ['-n', namespace]],
    ['create', 'pods', ['-n', 'default']],
    ['delete', 'pods', ['-n', 'default']],
    ['patch', 'pods', ['-n', 'default']],
    ['create', 'pods/exec', ['-n', 'default']],
    ['get', 'pods/log', ['-n', 'default']],
    ['watch', 'namespaces', []],
    ['create', 'deployments.apps', ['-n', namespace]],
    ['delete', 'replicasets.apps', ['-n', 'default']],
    ['update', 'jobs.batch', ['-n', 'default']],
    ['create', 'cronjobs.batch', ['-n', namespace]],
    ['create', 'leases.coordination.k8s.io', ['-n', 'default']],
    ['list', 'nodes', []],
    ['create', 'serviceaccounts/token', ['-n', namespace]],
    ['impersonate', 'serviceaccounts', ['-A']],
    ['bind', 'clusterroles.rbac.authorization.k8s.io', []],
  ]

  const assertWatchAccount = async (account: string, namespace: string, leaseName: string) => {
    const allowed: Array<[string, string, string[]]> = [
      ['list', 'pods', ['-A']],
      ['watch', 'pods', ['-A']],
      ['list', 'namespaces', []],
      ['get', 'namespaces', []],
      ['list', 'replicasets.apps', ['-A']],
      ['get', 'replicasets.apps', ['-n', 'default']],
      ['list', 'jobs.batch', ['-A']],
      ['get', 'jobs.batch', ['-n', 'default']],
      ['create', 'leases.coordination.k8s.io', ['-n', namespace]],
      ['get', `leases.coordination.k8s.io/${leaseName}`, ['-n', namespace]],
      ['update', `leases.coordination.k8s.io/${leaseName}`, ['-n', namespace]],
    ]
    const denied: Array<[string, string, string[]]> = [
      ...forbiddenToAll(namespace),
      ['get', 'pods', ['-n', 'default']],
      ['get', 'leases.coordination.k8s.io/another-lease', ['-n', namespace]],
      ['update', 'leases.coordination.k8s.io/another-lease', ['-n', namespace]],
      ['delete', `leases.coordination.k8s.io/${leaseName}`, ['-n', namespace]],
      ['patch', `leases.coordination.k8s.io/${leaseName}`, ['-n', namespace]],
    ]
    for (const [verb, resource, scope] of allowed) assert.equal(await can(account, verb, resource, scope), true, `${account} may ${verb} ${resource} ${scope.join(' ')}`)
    for (const [verb, resource, scope] of denied) assert.equal(await can(account, verb, resource, scope), false, `${account} may not ${verb} ${resource} ${scope.join(' ')}`)
    assert.deepEqual(await extraRules(account, namespace), [
      'jobs.batch [] [] [get list]',
      'leases.coordination.k8s.io [] [] [create]',
      `leases.coordination.k8s.io [] [${leaseName}] [get update]`,
      'namespaces [] [] [get list]',
      'pods [] [] [list watch]',
      'replicasets.apps [] [] [get list]',
    ].sort())
  }

  const assertSyncAccount = async (account: string, namespace: string) => {
    const allowed: Array<[string, string, string[]]> = [
      ['list', 'pods', ['-A']],
      ['list', 'namespaces', []],
      ['get', 'namespaces', []],
      ['list', 'replicasets.apps', ['-A']],
      ['list', 'jobs.batch', ['-A']],
    ]
    const denied: Array<[string, string, string[]]> = [
      ...forbiddenToAll(namespace),
      ['watch', 'pods', ['-A']],
      ['get', 'pods', ['-n', 'default']],
      ['get', 'replicasets.apps', ['-n', 'default']],
      ['create', 'leases.coordination.k8s.io', ['-n', namespace]],
      ['get', 'leases.coordination.k8s.io/kubectl-snyk-watch', ['-n', namespace]],
    ]
    for (const [verb, resource, scope] of allowed) assert.equal(await can(account, verb, resource, scope), true, `${account} may ${verb} ${resource} ${scope.join(' ')}`)
    for (const [verb, resource, scope] of denied) assert.equal(await can(account, verb, resource, scope), false, `${account} may not ${verb} ${resource} ${scope.join(' ')}`)
    assert.deepEqual(await extraRules(account, namespace), [
      'jobs.batch [] [] [list]',
      'namespaces [] [] [get list]',
      'pods [] [] [list]',
      'replicasets.apps [] [] [list]',
    ].sort())
  }

  /** A kubeconfig that authenticates as the service account with a token from the TokenRequest API. */
  const asServiceAccount = async (namespace: string, name: string) => {
    const token = await kubectl(['-n', namespace, 'create', 'token', name])
    assert.equal(token.code, 0, token.stderr)
    return writeKubeconfig(path.join(set.workDir, `${namespace}-${name}.yaml`), [{name: 'deploy', cluster: set.clusters[0]!, user: {name, token: token.stdout.trim()}}])
  }

  it('the API server enforces Pod Security here: a pod template without a security context is warned about (the control for the checks below)', async () => {
    const privileged = `apiVersion: apps/v1
kind: Deployment
metadata: {name: privileged, namespace: snyk-watch}
spec:
  selector: {matchLabels: {app: privileged}}
  template:
    metadata: {labels: {app: privileged}}
    spec:
      containers: [{name: app, image: busybox}]
`
    const dry = await kubectl(['apply', '--dry-run=server', '-f', '-'], privileged)
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stderr, /would violate PodSecurity "restricted/)
  })

  it('every manifest in deploy/ is accepted by the API server, passes the restricted Pod Security Standard, and runs the package version hardened', async () => {
    const files = readdirSync(deployDir).filter((name) => name.endsWith('.yaml')).sort()
    assert.deepEqual(files, ['cronjob.yaml', 'watch.yaml'])
    for (const file of files) {
      const objects = objectsOf(readFileSync(path.join(deployDir, file), 'utf8'))
      for (const object of objects) {
        const clusterScoped = ['ClusterRole', 'ClusterRoleBinding'].includes(object.kind)
        assert.equal(object.metadata.namespace, clusterScoped ? undefined : 'snyk-watch', `${file}: ${object.kind} ${object.metadata.name}`)
      }
      await apply({file: path.join(deployDir, file)})
    }
    const watch = objectsOf(readFileSync(path.join(deployDir, 'watch.yaml'), 'utf8'))
    assert.deepEqual(assertLeaderElectedWatch(watch, 'snyk-watch'), {leaseName: 'kubectl-snyk-watch'})
    assertHourlySyncCronJob(objectsOf(readFileSync(path.join(deployDir, 'cronjob.yaml'), 'utf8')), 'snyk-watch')

    // What the server stored (nothing dropped): the CronJob's failure policy and schedule.
    const stored = await kubectl(['-n', 'snyk-watch', 'get', 'cronjob', 'snyk-watch-sync', '-o', 'json'])
    assert.equal(stored.code, 0, stored.stderr)
    const cronJob = JSON.parse(stored.stdout) as KubeObject
    assert.equal(cronJob.spec?.concurrencyPolicy, 'Forbid')
    assert.deepEqual(cronJob.spec?.jobTemplate?.spec.podFailurePolicy?.rules.map((rule) => rule.action), ['Ignore', 'FailJob'])
  })

  it('the plain manifests\' service accounts may do exactly what watch and sync need', async () => {
    const nobody = await kubectl(['-n', 'snyk-watch', 'create', 'serviceaccount', 'nobody'])
    assert.equal(nobody.code, 0, nobody.stderr)
    await assertWatchAccount('snyk-watch:snyk-watch', 'snyk-watch', 'kubectl-snyk-watch')
    await assertSyncAccount('snyk-watch:snyk-watch-sync', 'snyk-watch')
  })

  it('sync with the CronJob\'s service account lists everything it needs: no warning, workloads resolved from ReplicaSets and Jobs, ignored namespaces skipped', async () => {
    const fixture = set.fixtures[0]!
    await fixture.createNamespace('apps')
    await fixture.createNamespace('quiet', {labels: {'snyk-watch.io/ignore': 'true'}})
    // A ReplicaSet and a Job without a controller: named by the conventions (Deployment `standalone`, CronJob
    // `manual`) only when they cannot be listed.
    const hash = '7f9c8d6b5'
    const selector = {matchLabels: {app: 'standalone', 'pod-template-hash': hash}}
    const replicaSet = await fixture.apps.createNamespacedReplicaSet({
      namespace: 'apps',
      body: {metadata: {name: `standalone-${hash}`, labels: selector.matchLabels}, spec: {selector, template: {metadata: {labels: selector.matchLabels}, spec: {containers: [{name: 'app', image: 'ghcr.io/acme/standalone:1'}]}}}},
    })
    const job = await fixture.batch.createNamespacedJob({
      namespace: 'apps',
      body: {metadata: {name: 'manual-29000000'}, spec: {template: {spec: {restartPolicy: 'Never', containers: [{name: 'task', image: 'ghcr.io/acme/task:1'}]}}}},
    })
    const owner = (apiVersion: string, kind: string, metadata: {name?: string; uid?: string}) => ({apiVersion, kind, name: metadata.name!, uid: metadata.uid!, controller: true})
    await fixture.createPod({namespace: 'apps', name: `standalone-${hash}-x1`, labels: selector.matchLabels, ownerReferences: [owner('apps/v1', 'ReplicaSet', replicaSet.metadata!)], containers: [{name: 'app', image: 'ghcr.io/acme/standalone:1', digest: digestOf('standalone')}]})
    await fixture.createPod({namespace: 'apps', name: 'manual-29000000-y2', ownerReferences: [owner('batch/v1', 'Job', job.metadata!)], containers: [{name: 'task', image: 'ghcr.io/acme/task:1', digest: digestOf('task')}]})
    await fixture.createPod({namespace: 'quiet', name: 'hidden', containers: [{name: 'app', image: 'ghcr.io/acme/hidden:1', digest: digestOf('hidden')}]})

    const account = await asServiceAccount('snyk-watch', 'snyk-watch-sync')
    const sync = await run(process.execPath, [cli, 'sync', '--dry-run', '-o', 'json', '--kubeconfig', account, '--state', path.join(set.workDir, 'sync-as-account.db')], {
      PATH: process.env.PATH,
      HOME: set.workDir,
    })
    assert.equal(sync.code, 0, sync.stderr)
    const result = JSON.parse(sync.stdout) as {targets: Array<{status: string; warnings: string[]}>; images: Array<{repository: string; runsIn: {workloads: string[]}}>}
    assert.deepEqual(result.targets.map((target) => ({status: target.status, warnings: target.warnings})), [{status: 'ok', warnings: []}])
    const workloads = Object.fromEntries(result.images.map((image) => [image.repository, image.runsIn.workloads]))
    assert.deepEqual(workloads['acme/standalone'], [`apps/ReplicaSet/standalone-${hash}`])
    assert.deepEqual(workloads['acme/task'], ['apps/Job/manual-29000000'])
    assert.equal(workloads['acme/hidden'], undefined, 'the ignored namespace is skipped')
  })

  it('helm lint --strict passes in both modes', async () => {
    for (const values of [[], ['mode=cronjob']]) {
      const lint = await helm(['lint', '--strict', chartDir, ...values.flatMap((value) => ['--set', value])])
      assert.equal(lint.code, 0, lint.stdout + lint.stderr)
      assert.doesNotMatch(lint.stdout, /\[(WARNING|ERROR)\]/)
    }
    const chart = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as {name: string; version: string; appVersion: string}
    assert.deepEqual({name: chart.name, version: chart.version, appVersion: chart.appVersion}, {name: 'kubectl-snyk-watch', version, appVersion: version})
  })

  it('the chart with postgres.enabled: both modes read the shared store\'s URL from a Secret, keep no state volume, and need a cluster name', async () => {
    for (const mode of ['watch', 'cronjob']) {
      const rendered = await template('fleet', 'snyk-watch', [`mode=${mode}`, 'postgres.enabled=true', 'postgres.existingSecret=snyk-watch-db', 'clusterName=prod-eu-1'])
      const objects = parseAllDocuments(rendered).map((doc) => doc.toJS() as {kind: string; spec?: Record<string, unknown>}).filter(Boolean)
      assert.equal(objects.some((o) => o.kind === 'PersistentVolumeClaim'), false, `${mode}: no claim for a state file`)
      const workload = objects.find((o) => o.kind === (mode === 'watch' ? 'Deployment' : 'CronJob'))!
      const podSpec = (mode === 'watch' ? (workload.spec as {template: {spec: unknown}}).template.spec : (workload.spec as {jobTemplate: {spec: {template: {spec: unknown}}}}).jobTemplate.spec.template.spec) as {
        containers: Array<{args: string[]; env: Array<{name: string; valueFrom?: {secretKeyRef?: {name: string; key: string}}}>}>
      }
      const [container] = podSpec.containers
      assert.equal(container!.args.some((arg) => arg.startsWith('--state')), false, `${mode}: no --state argument (the URL may hold a password)`)
      assert.ok(container!.args.includes('--cluster-name=prod-eu-1'), `${mode}: the cluster named`)
      assert.deepEqual(container!.env.find((e) => e.name === 'SNYK_WATCH_STATE')?.valueFrom?.secretKeyRef, {name: 'snyk-watch-db', key: 'url'})
      const dry = await kubectl(['apply', '--dry-run=server', '-f', '-'], rendered.replaceAll('namespace: snyk-watch', 'namespace: default'))
      assert.equal(dry.code, 0, dry.stderr)
    }
    const unnamed = await helm(['template', 'fleet', chartDir, '--set', 'postgres.enabled=true', '--set', 'postgres.existingSecret=db'])
    assert.notEqual(unnamed.code, 0)
    assert.match(unnamed.stderr, /postgres\.enabled needs clusterName/)
    const noSecret = await helm(['template', 'fleet', chartDir, '--set', 'postgres.enabled=true', '--set', 'clusterName=x'])
    assert.notEqual(noSecret.code, 0)
    assert.match(noSecret.stderr, /postgres\.existingSecret/)
  })

  it('the chart in watch mode with 2 replicas: leader election on its own Lease, accepted by the API server; its account leads and submits with nothing refused', async (t: TestContext) => {
    const text = await template('team-a', 'team-a', ['watch.replicas=2', 'snyk.token=not-a-real-token', 'clusterName=prod-eu'])
    const objects = objectsOf(text)
    const secret = one(objects, 'Secret')
    assert.equal(Buffer.from(secret.data?.token ?? '', 'base64').toString(), 'not-a-real-token')
    const {leaseName} = assertLeaderElectedWatch(objects, secret.metadata.name)
    assert.equal(flag(podSpecOf(one(objects, 'Deployment')).containers[0]!.args ?? [], 'cluster-name'), 'prod-eu')
    assert.deepEqual(objects.map((object) => object.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding', 'Secret', 'ServiceAccount'])
    await apply({text})

    const account = one(objects, 'ServiceAccount').metadata.name
    const created = await kubectl(['-n', 'team-a', 'create', 'serviceaccount', 'nobody'])
    assert.equal(created.code, 0, created.stderr)
    await assertWatchAccount(`team-a:${account}`, 'team-a', leaseName)

    // One replica, without asking for it: no leader election, no Role.
    const single = objectsOf(await template('team-a', 'team-a', ['watch.replicas=1']))
    assert.ok(!podSpecOf(one(single, 'Deployment')).containers[0]!.args?.includes('--leader-elect'))
    assert.deepEqual(single.filter((object) => object.kind === 'Role' || object.kind === 'RoleBinding'), [])

    // The account at work: leads on its Lease and submits, and nothing it asks for is refused.
    const snyk = await withSnykEmulator(t)
    await set.fixtures[0]!.createNamespace('shop')
    await set.fixtures[0]!.createPod({name: 'web', namespace: 'shop', containers: [{name: 'web', image: 'ghcr.io/acme/team-a-web:1', digest: digestOf('team-a-web')}]})
    const kubeconfigOfAccount = await asServiceAccount('team-a', account)
    const logs: string[] = []
    const watch = spawn(process.execPath, [
      cli, 'watch', '--org', snyk.orgId, '--api', snyk.url, '--kubeconfig', kubeconfigOfAccount, '--state', path.join(set.workDir, 'helm-watch.db'),
      '--leader-elect', '--leader-elect-namespace', 'team-a', `--leader-elect-name=${leaseName}`, '--leader-elect-lease-duration', '3s',
    ], {env: {PATH: process.env.PATH, HOME: set.workDir, SNYK_TOKEN: snyk.token}, stdio: ['ignore', 'ignore', 'pipe']})
    const exited = new Promise<number | null>((resolve) => watch.on('close', resolve))
    t.after(() => watch.kill('SIGKILL'))
    watch.stderr.on('data', (chunk: Buffer) => logs.push(...chunk.toString().split('\n').filter(Boolean)))
    await until('leading with the chart\'s service account', () => logs.some((line) => /"msg":"leading/.test(line)), 30_000)
    await until('the image submitted', () => snyk.importsOf('acme/team-a-web:1').length === 1, 30_000)
    const lease = await kubectl(['-n', 'team-a', 'get', 'lease', leaseName, '-o', 'jsonpath={.spec.holderIdentity}'])
    assert.equal(lease.code, 0, lease.stderr)
    assert.ok(lease.stdout.length > 0, 'the Lease has a holder')
    assert.deepEqual(logs.filter((line) => /forbidden|not allowed/i.test(line)), [], 'nothing was refused')
    watch.kill('SIGTERM')
    assert.equal(await exited, 0)
  })

  it('the chart in cronjob mode: an hourly sync with its state on a claim, accepted by the API server; its account may do exactly what sync needs', async () => {
    const text = await template('nightly', 'nightly', ['mode=cronjob', 'snyk.existingSecret=snyk-credentials', 'persistence.size=2Gi', 'extraArgs={--exclude-namespace=kube-*}'])
    const objects = objectsOf(text)
    assertHourlySyncCronJob(objects, 'snyk-credentials')
    assert.deepEqual(objects.map((object) => object.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'CronJob', 'PersistentVolumeClaim', 'ServiceAccount'])
    const args = podSpecOf(one(objects, 'CronJob')).containers[0]!.args ?? []
    assert.equal(args.at(-1), '--exclude-namespace=kube-*', 'extraArgs come last')
    await apply({text})
    const claim = await kubectl(['-n', 'nightly', 'get', 'pvc', one(objects, 'PersistentVolumeClaim').metadata.name, '-o', 'jsonpath={.spec.resources.requests.storage}'])
    assert.equal(claim.stdout, '2Gi')

    const created = await kubectl(['-n', 'nightly', 'create', 'serviceaccount', 'nobody'])
    assert.equal(created.code, 0, created.stderr)
    await assertSyncAccount(`nightly:${one(objects, 'ServiceAccount').metadata.name}`, 'nightly')
  })
})

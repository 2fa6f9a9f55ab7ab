// Benchmarks of `kubectl snyk-watch watch` (issue 5, "Measure") on one real local cluster (etcd +
// kube-apiserver) and the Snyk emulator, against kubectl watching the same API server, in the same run.
//
//     node bench/watch.ts [--pods 1000,10000] [--new-pods 200] [--create-rate 4] [--rate 1200]
//                         [--churn-rounds 3] [--seed-concurrency 16] [--skip-build] [--cpu-prof DIR] [--trace FILE]
//
// Builds the CLI first (`npm run build`'s tsc; --skip-build to use dist/ as it is). Each --pods value is a
// step: the cluster is grown to that many realistic pods (bench/pod-fleet.ts: init containers, sidecars,
// statuses with the runtime's imageIDs, ~150 images shared by many pods, 1% of pods with a container not
// started; seeding is timed and printed), then fresh processes are measured; the steps share the cluster.
// The Snyk emulator runs in a worker thread (its own event loop, like a remote Snyk) with Snyk's documented
// limit of 2,000 requests a minute. Context printed first: watch following nothing (-n of an empty
// namespace) and a bare node process, for what watch costs before it follows any pod.
//
// W1, at every step: peak RSS (VmHWM in /proc/<pid>/status; the pid is node's own: bin/run.js is started
// with node_modules/.bin/node, no wrapper) of `node bin/run.js watch --listen 127.0.0.1:0 --log-format json`
// following the N pods (a fresh state store): started, ready (/readyz 200: every pod listed), its first
// submissions (every image of the fleet) answered and their jobs polled, then --churn-rounds rounds that each
// update 1% of the pods (half an annotation, half a readiness flip through the status subresource, as a
// kubelet writes it: no image changes, so no import may follow). Goal: <= 200 MB at the largest step.
// Baseline: `kubectl get pods -A --watch -o name` (the test bed's kubectl) on the same API server over the
// same pods and the same churn, its VmHWM. Both run at once. Printed: both, the ratio, each one's CPU time,
// and watch's V8 heap (its /metrics), to tell its fixed cost from what grows with the pods.
//
// W2, at the largest step, with both processes still running: --new-pods pods, each running a new image
// (plus an init container and a sidecar on images the fleet already runs, at the fleet's digests), created
// one every 1 / --create-rate s. Each pod is POSTed without a status; once kubectl has printed it (ADDED),
// its running status (imageIDs) is written through the status subresource. Measured from just before that
// status write:
// - watch: until the emulator receives the import request naming the new image (the emulator's request log
//   time; `watch` submits a container once its running digest is known, i.e. after this write);
// - baseline: until kubectl prints the pod's line again (the MODIFIED event: the API server's own watch
//   latency as a watch client sees it).
// p50 and p99 of both and their ratio. Goal: watch p99 <= 1 s. The rate budget: every new image costs one
// import and two job polls, so the default 4 new pods/s is ~12 requests/s against --rate 1200 (20/s); the
// request rate the emulator saw during the phase is printed as a fraction of --rate. Before W2 the bench
// waits for watch's pending grace (2 minutes after its listing) to submit the tags of the fleet's containers
// not started, and for their jobs to be polled: that burst (~50 imports and their polls at 20/s) would
// otherwise queue the new images behind it (seen in development: p99 1.2-2.2 s). W2 measures new images
// under the rate budget, not a backlog.
// --cpu-prof DIR: a CPU profile of watch during W2 (over the inspector: watch runs with --inspect), written
// to DIR and summarised. --trace FILE: W2's timeline as JSON (each pod's status write and kubectl lines, every
// request the emulator received, watch's audit lines), to see where a slow import waited.
//
// The bench fails (exit 1) if a goal is missed, if watch does not list every pod seeded, submits an image
// during the churn, imports a new image other than exactly once, does not exit 0 on SIGTERM, or if the
// emulator saw an off-contract request. Ctrl+C (or SIGTERM) stops watch, kubectl and the cluster, and exits
// 130; a watchdog kills watch and kubectl if the bench itself is killed.
//
// Wall time on 2 cores: the default run (1000,10000 pods) about 4.5 minutes (seeding 10,000 pods ~40-60 s,
// the wait for the pending grace before W2 ~100 s, W2 50 s); --pods 1000,10000,50000 9-10 minutes (seeding
// 50,000 pods 3-4 minutes at 330-420 requests/s, i.e. 165-210 pods/s; watch lists them in 45-60 s).
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {Agent, request} from 'undici'
import {writeKubeconfig} from '../test/controlplane/kubeconfig.ts'
import type {LocalCluster} from '../test/controlplane/local-cluster.ts'
import {startClusters, type ClusterSet} from '../test/helpers/clusters.ts'
import {digestOf, imageIdFor} from '../test/helpers/kube-objects.ts'
import {summarizeCpuProfile, type CpuProfile} from './cpu-profile-summary.ts'
import {FleetSeeder, forEachLimit} from './fleet-seeder.ts'
import {expectationOf, planFleet, type FleetPlan} from './pod-fleet.ts'
import {RemoteEmulator} from './remote-emulator.ts'
import {build, childEnv} from './cli-process.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const node = path.join(root, 'node_modules', '.bin', 'node')
const clusterName = 'bench-watch'
const newNamespace = 'bench-new'
/** Snyk's documented v1 limit, the emulator's. */
const snykLimitPerMinute = 2000
/** watch's grace for a container without a running digest (src/watch/watch-runner.ts), and its sweep period (watch-service.ts). */
const pendingGraceMs = 2 * 60_000
const sweepMs = 5_000
/** The emulator has been quiet this long (and watch's queue is empty): every import job has been polled to its end. */
const quietMs = 6_000

const {values} = parseArgs({
  options: {
    pods: {type: 'string', default: '1000,10000'},
    'new-pods': {type: 'string', default: '200'},
    'create-rate': {type: 'string', default: '4'},
    rate: {type: 'string', default: '1200'},
    'churn-rounds': {type: 'string', default: '3'},
    'seed-concurrency': {type: 'string', default: '16'},
    'skip-build': {type: 'boolean', default: false},
    'cpu-prof': {type: 'string'},
    trace: {type: 'string'},
  },
})
const steps = values.pods.split(',').map((text) => positiveInteger('pods', text))
if (steps.some((n, i) => i > 0 && n <= steps[i - 1]!)) throw new Error('--pods steps must increase: --pods 1000,10000')
const newPods = positiveInteger('new-pods', values['new-pods'])
const createRate = Number(values['create-rate'])
if (!(createRate > 0)) throw new Error('--create-rate must be a number of pods per second > 0')
const rate = positiveInteger('rate', values.rate)
if (rate >= snykLimitPerMinute) throw new Error(`--rate must stay under the emulator's limit of ${snykLimitPerMinute}/min`)
const churnRounds = Number(values['churn-rounds'])
if (!Number.isInteger(churnRounds) || churnRounds < 0) throw new Error('--churn-rounds must be an integer >= 0')
const seedConcurrency = positiveInteger('seed-concurrency', values['seed-concurrency'])
const cpuProfileDir = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined
const traceFile = values.trace ? path.resolve(values.trace) : undefined

function positiveInteger(name: string, value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} must be an integer >= 1, got ${JSON.stringify(value)}`)
  return number
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`
const ms = (value: number): string => `${value.toFixed(0)} ms`
const seconds = (value: number): string => `${(value / 1000).toFixed(1)} s`
const fmt = (value: number, digits = 2): string => value.toFixed(digits)
const loadAverage = (): string => os.loadavg().map((load) => load.toFixed(2)).join(' ')

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN
}

// ---- child processes: tracked, stopped on exit and on Ctrl+C, and by a watchdog if this process dies ----

const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

const watchdogSource = `
const [parent, pid] = process.argv.slice(1).map(Number)
const alive = (p) => { try { process.kill(p, 0); return true } catch { return false } }
setInterval(() => {
  if (!alive(pid)) process.exit(0)
  if (!alive(parent)) { try { process.kill(pid, 'SIGKILL') } catch {} process.exit(0) }
}, 500)
`

function startChild(command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, {cwd: root, env, stdio: ['ignore', 'pipe', 'pipe']})
  children.add(child)
  child.once('exit', () => children.delete(child))
  if (child.pid !== undefined) spawn(process.execPath, ['-e', watchdogSource, String(process.pid), String(child.pid)], {detached: true, stdio: 'ignore'}).unref()
  return child
}

/** SIGTERM, then SIGKILL after graceMs. Resolves with the exit code (null when killed by a signal). */
async function stopChild(child: ChildProcess, graceMs = 30_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  const code = await exited
  clearTimeout(timer)
  return code
}

/** Peak and current resident set (kB) and CPU time (s) of a process, from /proc. */
function processFigures(pid: number): {hwmKb: number; rssKb: number; cpuSeconds: number} {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
  // /proc/<pid>/stat: utime and stime are fields 14 and 15, after the command name in parentheses.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return {hwmKb: field('VmHWM'), rssKb: field('VmRSS'), cpuSeconds: ticks / 100}
}

/** Fails unless `pid` is the process that runs `marker` (not a wrapper around it). */
function checkProcess(pid: number, marker: string): void {
  const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  if (!commandLine.includes(marker)) throw new Error(`bench bug: process ${pid} runs "${commandLine}", not ${marker}`)
}


/** Splits a child's output into lines, each with the time its chunk arrived. */
function onLines(stream: NodeJS.ReadableStream, handle: (line: string, at: number) => void): void {
  let partial = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    const at = Date.now()
    partial += chunk
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) if (line !== '') handle(line, at)
  })
}

// ---- the baseline: kubectl get pods -A --watch -o name ----

class KubectlWatch {
  readonly child: ChildProcess
  /** Lines printed so far (one per pod of the list, then one per event). */
  lines = 0
  stderr = ''
  /** Times at which each pod whose line starts with `tracked` was printed. */
  readonly #times = new Map<string, number[]>()
  readonly #waiters = new Set<() => void>()

  constructor(kubectl: string, kubeconfig: string, env: NodeJS.ProcessEnv, tracked: string) {
    this.child = startChild(kubectl, ['--kubeconfig', kubeconfig, 'get', 'pods', '-A', '--watch', '-o', 'name'], env)
    onLines(this.child.stdout!, (line, at) => {
      this.lines++
      if (line.startsWith(tracked)) {
        const times = this.#times.get(line)
        if (times) times.push(at)
        else this.#times.set(line, [at])
      }
      for (const waiter of this.#waiters) waiter()
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-4000)))
  }

  timesOf(pod: string): number[] {
    return this.#times.get(`pod/${pod}`) ?? []
  }

  /** Resolves once `check` holds (checked on every line kubectl prints). */
  until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
    if (check()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (!check()) return
        this.#waiters.delete(waiter)
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter)
        reject(new Error(`kubectl: timed out after ${timeoutMs} ms waiting for ${what} (${this.lines} lines printed; stderr: ${this.stderr.slice(-500)})`))
      }, timeoutMs)
      this.#waiters.add(waiter)
    })
  }
}

// ---- the CLI: node bin/run.js watch ----

interface LogLine {
  level?: string
  msg?: string
  [field: string]: unknown
}

class WatchProcess {
  readonly child: ChildProcess
  readonly startedAt = performance.now()
  url: string | undefined
  listed: LogLine | undefined
  /** When the first `listed` line arrived (performance.now()). */
  listedAt: number | undefined
  /** Warnings and errors logged. */
  readonly problems: LogLine[] = []
  /** Audit lines: result, image key (`repository@digest`, or `repository:tag` for a container not started) and when. */
  readonly audits: Array<{result: string; key: string; at: number}> = []
  readonly tail: string[] = []
  readonly exited: Promise<number | null>

  /** The inspector's WebSocket URL (started with --inspect). */
  inspectorUrl: string | undefined

  constructor(args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []) {
    this.child = startChild(node, [...nodeArgs, 'bin/run.js', 'watch', ...args], env)
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)))
    this.child.once('exit', () => this.stopSampling())
    this.child.stdout!.resume()
    onLines(this.child.stderr!, (text, at) => {
      this.tail.push(text)
      if (this.tail.length > 40) this.tail.shift()
      let line: LogLine
      try {
        line = JSON.parse(text) as LogLine
      } catch {
        const inspector = /^Debugger listening on (ws:\/\/\S+)/.exec(text)
        if (inspector) this.inspectorUrl = inspector[1]
        else if (!/^For help, see: https:\/\/nodejs.org/.test(text)) this.problems.push({level: 'stderr', msg: text})
        return
      }
      const message = line.msg ?? ''
      if (message.startsWith('serving') && typeof line['url'] === 'string') this.url = line['url']
      if (message === 'listed' || message === 'relisted') {
        this.listed = line
        this.listedAt ??= performance.now()
      }
      if (line['audit'] === true) this.audits.push({result: String(line['result']), key: String(line['key']), at})
      if (line.level === 'warn' || line.level === 'error' || line.level === 'fatal') this.problems.push(line)
    })
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('watch did not start')
    return this.child.pid
  }

  /** Samples VmRSS every 200 ms: when the peak happened (VmHWM says how high, not when). */
  readonly peak = {rssKb: 0, atMs: 0}
  readonly #sampler = setInterval(() => {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    try {
      const {rssKb} = processFigures(this.pid)
      if (rssKb > this.peak.rssKb) Object.assign(this.peak, {rssKb, atMs: performance.now() - this.startedAt})
    } catch {
      // exited between the check and the read
    }
  }, 200).unref()

  stopSampling(): void {
    clearInterval(this.#sampler)
  }

  context(): string {
    return `exit ${this.child.exitCode ?? this.child.signalCode ?? 'not yet'}; last log lines:\n  ${this.tail.join('\n  ')}`
  }

  /** Waits until /readyz answers 200. */
  async ready(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`watch exited before it was ready: ${this.context()}`)
      if (this.url) {
        const status = await fetch(`${this.url}/readyz`, {signal: AbortSignal.timeout(5000)}).then((response) => response.status, () => 0)
        if (status === 200) return performance.now() - this.startedAt
      }
      if (performance.now() > deadline) throw new Error(`watch was not ready within ${timeoutMs} ms: ${this.context()}`)
      await sleep(50)
    }
  }

  /** Values of the watch's metrics, by name with labels (`snyk_watch_submissions_total{result="submitted"}`). */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`${this.url}/metrics`, {signal: AbortSignal.timeout(10_000)})).text()
    const values = new Map<string, number>()
    for (const line of text.split('\n')) {
      const match = /^(snyk_watch_\w+(?:\{[^}]*\})?) (\S+)$/.exec(line)
      if (match) values.set(match[1]!, Number(match[2]))
    }
    return values
  }
}

/** A V8 CPU profile of a running process, over the inspector protocol (the process runs with --inspect). */
class RemoteProfiler {
  readonly #socket: WebSocket
  readonly #pending = new Map<number, {resolve: (result: unknown) => void; reject: (error: Error) => void}>()
  #nextId = 1

  private constructor(socket: WebSocket) {
    this.#socket = socket
    socket.addEventListener('message', (event: MessageEvent) => {
      const message = JSON.parse(String(event.data)) as {id?: number; result?: unknown; error?: {message: string}}
      if (message.id === undefined) return
      const pending = this.#pending.get(message.id)
      this.#pending.delete(message.id)
      if (message.error) pending?.reject(new Error(message.error.message))
      else pending?.resolve(message.result)
    })
  }

  static async start(url: string): Promise<RemoteProfiler> {
    const socket = new WebSocket(url)
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, {once: true})
      socket.addEventListener('error', () => reject(new Error(`cannot connect to the inspector at ${url}`)), {once: true})
    })
    const profiler = new RemoteProfiler(socket)
    await profiler.#send('Profiler.enable')
    await profiler.#send('Profiler.start')
    return profiler
  }

  async stop(): Promise<CpuProfile> {
    const {profile} = (await this.#send('Profiler.stop')) as {profile: CpuProfile}
    this.#socket.close()
    return profile
  }

  #send(method: string, params: object = {}): Promise<unknown> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {resolve, reject})
      this.#socket.send(JSON.stringify({id, method, params}))
    })
  }
}

// ---- writes to the API server (the churn and the new pods), as FleetSeeder sends them ----

class ApiWriter {
  readonly #cluster: LocalCluster
  readonly #agent: Agent

  constructor(cluster: LocalCluster, connections: number) {
    this.#cluster = cluster
    this.#agent = new Agent({connect: {ca: cluster.pki.caCertPem, cert: cluster.admin.certPem, key: cluster.admin.keyPem}, connections})
  }

  async send(method: 'POST' | 'PATCH', pathname: string, body: object, contentType = 'application/json'): Promise<void> {
    const payload = JSON.stringify(body)
    for (let attempt = 1; ; attempt++) {
      let statusCode: number
      let text: string
      try {
        const response = await request(`${this.#cluster.server}${pathname}`, {
          dispatcher: this.#agent,
          method,
          headers: {'content-type': contentType, accept: 'application/json'},
          body: payload,
          signal: AbortSignal.timeout(60_000),
        })
        statusCode = response.statusCode
        text = await response.body.text()
      } catch (error) {
        // A connection the API server closed (HTTP/2 GOAWAY): send again.
        if (attempt >= 5) throw error
        await sleep(100 * attempt)
        continue
      }
      if (statusCode < 300) return
      // A retried POST whose first attempt went through.
      if (method === 'POST' && statusCode === 409 && attempt > 1) return
      if ([429, 500, 503, 504].includes(statusCode) && attempt < 5) {
        await sleep(100 * attempt)
        continue
      }
      throw new Error(`${method} ${pathname} answered ${statusCode}: ${text.slice(0, 500)}`)
    }
  }

  close(): Promise<void> {
    return this.#agent.close()
  }
}

interface PodCondition {
  type: string
  status: string
  lastProbeTime: null
  lastTransitionTime: string
}

/** One churn round: 1% of the first `count` pods, half an annotation, half a readiness flip. */
async function churn(writer: ApiWriter, plan: FleetPlan, count: number, round: number): Promise<number> {
  // A value never written before (an earlier step churned some of the same pods): every update is an event.
  const marker = `${round}-${Date.now()}`
  const pods = plan.pods.slice(0, count).flatMap((pod, index) => (index % 100 === round % 100 ? [{pod, index}] : []))
  await forEachLimit(pods, seedConcurrency, async ({pod, index}) => {
    const base = `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}`
    if (index % 200 < 100) {
      await writer.send('PATCH', base, {metadata: {annotations: {'bench.snyk-watch.io/churn': marker}}}, 'application/merge-patch+json')
      return
    }
    const now = new Date().toISOString()
    const conditions = ((pod.status as {conditions: PodCondition[]}).conditions ?? []).map((condition) =>
      condition.type === 'Ready' || condition.type === 'ContainersReady' ? {...condition, status: round % 2 === 0 ? 'False' : 'True', lastTransitionTime: now} : condition,
    )
    await writer.send('PATCH', `${base}/status`, {status: {conditions}}, 'application/merge-patch+json')
  })
  return pods.length
}

/** A new pod of W2: its own new image, an init container and a sidecar on images the fleet runs. */
function newPod(index: number): {name: string; image: string; target: string; body: object; status: object} {
  const name = `bench-new-${index}`
  const image = `ghcr.io/acme/bench-new-${index}:1.0.${index}`
  const init = 'busybox:1.36.1'
  const sidecar = 'envoyproxy/envoy:v1.31.2'
  const started = new Date().toISOString()
  // The digests the fleet's pods run these images at (bench/pod-fleet.ts): the same images, not a drift.
  const digests = new Map([
    [init, digestOf('docker.io/library/busybox:1.36.1')],
    [sidecar, digestOf('docker.io/envoyproxy/envoy:v1.31.2')],
    [image, digestOf(image)],
  ])
  const running = (container: string, reference: string) => ({
    name: container,
    image: reference,
    imageID: imageIdFor('containerd', reference, digests.get(reference)!),
    containerID: `containerd://${digestOf(`${name}/${container}`).slice('sha256:'.length)}`,
    ready: true,
    started: true,
    restartCount: 0,
    state: {running: {startedAt: started}},
    lastState: {},
  })
  const resources = {requests: {cpu: '100m', memory: '128Mi'}, limits: {memory: '256Mi'}}
  return {
    name,
    image,
    target: `acme/bench-new-${index}:1.0.${index}`,
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {name, namespace: newNamespace, labels: {app: 'bench-new', 'app.kubernetes.io/instance': name}, annotations: {'prometheus.io/scrape': 'true'}},
      spec: {
        initContainers: [{name: 'init', image: init, command: ['/bin/sh', '-c', 'true'], resources}],
        containers: [
          {name: 'main', image, ports: [{containerPort: 8080, protocol: 'TCP'}], readinessProbe: {httpGet: {path: '/ready', port: 8080}}, resources},
          {name: 'proxy', image: sidecar, resources},
        ],
        nodeName: 'node-0',
        restartPolicy: 'Always',
      },
    },
    status: {
      phase: 'Running',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({type, status: 'True', lastProbeTime: null, lastTransitionTime: started})),
      hostIP: '10.0.12.34',
      podIP: `10.244.${Math.floor(index / 250)}.${index % 250}`,
      startTime: started,
      qosClass: 'Burstable',
      initContainerStatuses: [{...running('init', init), ready: true, started: false, state: {terminated: {exitCode: 0, reason: 'Completed', startedAt: started, finishedAt: started}}}],
      containerStatuses: [running('main', image), running('proxy', sidecar)],
    },
  }
}

// ---- the run ----

let set: ClusterSet | undefined
let snyk: RemoteEmulator | undefined
let seeder: FleetSeeder | undefined
let writer: ApiWriter | undefined
let cleaning: Promise<void> | undefined
const cleanup = (): Promise<void> =>
  (cleaning ??= (async () => {
    await Promise.allSettled([...children].map((child) => stopChild(child, 5_000)))
    await Promise.allSettled([seeder?.close(), writer?.close()])
    await snyk?.close().catch(() => {})
    await set?.stop()
  })())
let interrupted = false
const interrupt = (signal: string) => {
  if (interrupted) process.exit(130)
  interrupted = true
  console.error(`\n${signal}: stopping watch, kubectl and the cluster (again to exit at once)`)
  void cleanup().finally(() => process.exit(130))
}
process.on('SIGINT', interrupt)
process.on('SIGTERM', interrupt)

const benchStarted = performance.now()
let missed = 0
try {
  if (!values['skip-build']) await build()
  const maxPods = steps.at(-1)!
  const plan = planFleet(clusterName, 0, maxPods)
  ;[set, snyk] = await Promise.all([startClusters(1, {names: [clusterName]}), RemoteEmulator.start({requests: snykLimitPerMinute, windowMs: 60_000})])
  const cluster = set.clusters[0]!
  const kubectl = set.binaries.kubectl
  const home = path.join(set.workDir, 'home')
  await mkdir(home, {recursive: true})
  const env = childEnv(home)
  const kubeconfig = await writeKubeconfig(path.join(set.workDir, 'kubeconfig.yaml'), [{name: clusterName, cluster}])
  seeder = new FleetSeeder(cluster, plan, {concurrency: seedConcurrency})
  writer = new ApiWriter(cluster, seedConcurrency)
  console.log(
    `watch: 1 cluster (kube-apiserver ${set.binaries.kubernetesVersion}, etcd ${set.binaries.etcdVersion}), steps ${steps.join(', ')} pods; ` +
      `W2 ${newPods} new pods at ${createRate}/s at the largest step; watch --rate ${rate}; emulator limit ${snykLimitPerMinute}/min; ` +
      `${os.cpus().length} CPUs, ${mb(os.totalmem() / 1024)} RAM, node ${process.version}`,
  )
  // kubectl's discovery cache, as a user's is warm.
  const warm = await new Promise<number | null>((resolve) => startChild(kubectl, ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name'], env).once('exit', resolve))
  if (warm !== 0) throw new Error('kubectl get namespaces failed')

  // Context: what watch costs following nothing (a namespace without pods), and a bare node process.
  const idle = new WatchProcess(
    ['--org', snyk.orgId, '--api', snyk.url, '--kubeconfig', kubeconfig, '-n', 'bench-empty', '--state', path.join(set.workDir, 'state-idle.db'), '--listen', '127.0.0.1:0', '--log-format', 'json', '--rate', String(rate)],
    {...env, SNYK_TOKEN: snyk.token},
  )
  await idle.ready(60_000)
  await sleep(3_000)
  const idleFigures = processFigures(idle.pid)
  const idleMetrics = await idle.metrics()
  if ((await stopChild(idle.child)) !== 0) throw new Error(`watch following nothing did not exit 0 on SIGTERM: ${idle.context()}`)
  const bare = startChild(node, ['-e', 'setTimeout(() => {}, 60000)'], env)
  await sleep(1_000)
  const bareFigures = processFigures(bare.pid!)
  await stopChild(bare)
  console.log(
    `context   watch following nothing (-n of an empty namespace): VmHWM ${mb(idleFigures.hwmKb)} (V8 heap used ${mb((idleMetrics.get('snyk_watch_nodejs_heap_size_used_bytes') ?? 0) / 1024)}); ` +
      `a bare node process (node -e 'setTimeout(...)'): ${mb(bareFigures.hwmKb)}`,
  )

  for (const pods of steps) {
    const largest = pods === maxPods
    const requestsBefore = seeder.stats.requests
    const seedStarted = performance.now()
    await seeder.seedUpTo(pods)
    const seedMs = performance.now() - seedStarted
    const seedRequests = seeder.stats.requests - requestsBefore
    const expected = expectationOf([plan], pods)
    const pendingTags = new Set(plan.pods.slice(0, pods).flatMap((pod) => pod.imageKeys).filter((key) => !key.includes('@'))).size
    console.log(
      `\n== ${pods} pods (${expected.containers} containers, ${expected.images} unique images of which ${pendingTags} tags of containers not started)\n` +
        `seeding   ${seedRequests} requests (pod POST + status PATCH, namespaces, ReplicaSets, Jobs) in ${seconds(seedMs)}: ` +
        `${fmt(seedRequests / (seedMs / 1000), 0)} requests/s, ${seeder.stats.retries} retries so far`,
    )

    // Both followers at once, on the same API server.
    const loadBefore = loadAverage()
    const importsBefore = (await snyk.activity('')).imports.length
    const baseline = new KubectlWatch(kubectl, kubeconfig, env, `pod/bench-new-`)
    const state = path.join(set.workDir, `state-${pods}.db`)
    const watch = new WatchProcess(
      ['--org', snyk.orgId, '--api', snyk.url, '--kubeconfig', kubeconfig, '--state', state, '--listen', '127.0.0.1:0', '--log-format', 'json', '--rate', String(rate)],
      {...env, SNYK_TOKEN: snyk.token},
      cpuProfileDir && largest ? ['--inspect=127.0.0.1:0'] : [],
    )
    checkProcess(watch.pid, 'bin/run.js')
    checkProcess(baseline.child.pid!, 'kubectl')
    const listStarted = performance.now()
    const [readyMs, kubectlListMs] = await Promise.all([
      watch.ready(10 * 60_000),
      baseline.until(`the list of ${pods} pods`, () => baseline.lines >= pods, 10 * 60_000).then(() => performance.now() - listStarted),
    ])
    const listedPods = Number(watch.listed?.['pods'])
    if (listedPods !== pods) throw new Error(`watch listed ${listedPods} pods, seeded ${pods}: ${watch.context()}`)

    // Its first submissions: every image of the fleet (then their import jobs are polled to the end).
    const settle = async (what: string): Promise<number> => {
      const started = performance.now()
      for (;;) {
        const [metrics, activity] = await Promise.all([watch.metrics(), snyk!.activity('\u0000')])
        const idle = metrics.get('snyk_watch_queue_depth') === 0 && metrics.get('snyk_watch_submissions_in_flight') === 0 && Date.now() - activity.lastRequestAt >= quietMs
        if (idle) return performance.now() - started
        if (performance.now() - started > 10 * 60_000) throw new Error(`${what}: watch still busy after 10 minutes (${JSON.stringify([...metrics])}): ${watch.context()}`)
        if (watch.child.exitCode !== null || watch.child.signalCode !== null) throw new Error(`watch exited: ${watch.context()}`)
        await sleep(250)
      }
    }
    const settleMs = await settle('first submissions')
    const importsAfterStart = (await snyk.activity('')).imports.length

    // Churn: updates that change no image.
    let churned = 0
    const linesBeforeChurn = baseline.lines
    const churnStarted = performance.now()
    const churnWallStarted = Date.now()
    for (let round = 0; round < churnRounds; round++) {
      churned += await churn(writer, plan, pods, round)
      await baseline.until(`the churn's ${churned} updates`, () => baseline.lines >= linesBeforeChurn + churned, 120_000)
    }
    const churnMs = performance.now() - churnStarted
    await sleep(2_000)
    const churnImports = (await snyk.activity('')).imports.length - importsAfterStart
    // Only the pending grace may submit during the churn, and only tags (keys without a digest) of containers not started.
    const churnSubmissions = watch.audits.filter((audit) => audit.at >= churnWallStarted && audit.result === 'submitted')
    const byChurn = churnSubmissions.filter((audit) => audit.key.includes('@'))
    if (byChurn.length > 0) throw new Error(`watch submitted ${byChurn.length} images during the churn (updates that change no image): ${byChurn.slice(0, 5).map((audit) => audit.key).join(', ')}`)

    const watchFigures = processFigures(watch.pid)
    const kubectlFigures = processFigures(baseline.child.pid!)
    const watchMemory = await watch.metrics()
    const metricMb = (name: string): string => mb((watchMemory.get(`snyk_watch_${name}`) ?? 0) / 1024)
    const ratio = watchFigures.hwmKb / kubectlFigures.hwmKb
    const w1Ok = watchFigures.hwmKb / 1024 <= 200
    if (largest && !w1Ok) missed++
    console.log(`machine   load average ${loadBefore} before starting both, ${loadAverage()} after the churn`)
    console.log(
      `follow    watch ready (/readyz 200) ${seconds(readyMs)} after its start, listed ${listedPods} pods (as seeded); kubectl printed the ${pods} pods in ${seconds(kubectlListMs)}; ` +
        `watch's first submissions: ${importsAfterStart - importsBefore} imports, all answered and polled ${seconds(settleMs)} after ready`,
    )
    console.log(
      `churn     ${churnRounds} rounds x 1% = ${churned} pod updates (annotations, readiness flips) in ${seconds(churnMs)}, all seen by kubectl; ` +
        `imports during the churn: ${churnImports}${churnImports > 0 ? ` (${churnSubmissions.length} tags of containers not started: the pending grace; none for the churn)` : ' (churn-free)'}`,
    )
    console.log(
      `W1   peak RSS (VmHWM) following ${pods} pods: watch ${mb(watchFigures.hwmKb)} (sampled peak ${seconds(watch.peak.atMs)} after its start, ready at ${seconds(readyMs)}; now ${mb(watchFigures.rssKb)}, CPU ${fmt(watchFigures.cpuSeconds, 1)} s), ` +
        `kubectl get pods -A --watch -o name ${mb(kubectlFigures.hwmKb)} (now ${mb(kubectlFigures.rssKb)}, CPU ${fmt(kubectlFigures.cpuSeconds, 1)} s); ` +
        `ratio ${fmt(ratio, 3)}; goal <= 200 MB${largest ? `  ${w1Ok ? 'OK' : 'MISSED'}` : ' (checked at the largest step)'}`,
    )
    console.log(
      `memory    watch now (its /metrics): V8 heap used ${metricMb('nodejs_heap_size_used_bytes')} of ${metricMb('nodejs_heap_size_total_bytes')}, external ${metricMb('nodejs_external_memory_bytes')}, ` +
        `resident ${metricMb('process_resident_memory_bytes')}`,
    )

    if (largest) {
      // The pending grace's burst (tags of containers not started) goes first: W2 measures new images alone.
      // The grace runs from when watch first saw them: its listing. Every such tag is then submitted or skipped (one audit line each).
      if (pendingTags > 0) {
        const graceOver = (watch.listedAt ?? performance.now()) + pendingGraceMs + sweepMs
        const wait = graceOver - performance.now()
        const waitStarted = performance.now()
        if (wait > 0) console.log(`wait      ${seconds(wait)}+ for watch's pending grace (2 min after its listing) to submit the ${pendingTags} tags of containers not started`)
        const tagAudits = () => new Set(watch.audits.filter((audit) => !audit.key.includes('@') && audit.result !== 'monitored').map((audit) => audit.key)).size
        while (tagAudits() < pendingTags) {
          if (performance.now() > graceOver + 60_000) throw new Error(`watch handled ${tagAudits()} of the ${pendingTags} tags of containers not started a minute after their grace: ${watch.context()}`)
          await sleep(250)
        }
        const settleMs = await settle('the pending grace')
        console.log(`grace     the ${pendingTags} tags submitted or skipped, and their jobs polled, ${seconds(performance.now() - waitStarted)} later (the last ${seconds(settleMs)} settling)`)
      }
      await writer.send('POST', '/api/v1/namespaces', {apiVersion: 'v1', kind: 'Namespace', metadata: {name: newNamespace}})
      const hwmBeforeW2 = processFigures(watch.pid).hwmKb
      const activityBefore = await snyk.activity('')
      const metricsBefore = await watch.metrics()
      const profiler = cpuProfileDir ? await RemoteProfiler.start(watch.inspectorUrl ?? '') : undefined
      const phaseStarted = Date.now()
      const interval = 1000 / createRate
      const written: Array<{index: number; name: string; target: string; t0: number; t1: number}> = []
      const tasks: Array<Promise<void>> = []
      // watch's event loop during the phase: its /metrics max lag (reset by each scrape), once a second.
      let lagMaxMs = 0
      const lagScraper = setInterval(() => {
        void watch.metrics().then((metrics) => (lagMaxMs = Math.max(lagMaxMs, (metrics.get('snyk_watch_nodejs_eventloop_lag_max_seconds') ?? 0) * 1000)), () => {})
      }, 1000)
      for (let index = 0; index < newPods; index++) {
        const slot = phaseStarted + index * interval
        if (slot > Date.now()) await sleep(slot - Date.now())
        const pod = newPod(index)
        tasks.push(
          (async () => {
            await writer!.send('POST', `/api/v1/namespaces/${newNamespace}/pods`, pod.body)
            // Written once kubectl has printed the pod (ADDED): its next line is this status write.
            await baseline.until(`pod ${pod.name} ADDED`, () => baseline.timesOf(pod.name).length >= 1, 60_000)
            const t0 = Date.now()
            await writer!.send('PATCH', `/api/v1/namespaces/${newNamespace}/pods/${pod.name}/status`, {status: pod.status}, 'application/merge-patch+json')
            written.push({index, name: pod.name, target: pod.target, t0, t1: Date.now()})
          })(),
        )
      }
      await Promise.all(tasks)
      const createdAll = Date.now()
      await baseline.until(`the status writes of ${newPods} new pods`, () => written.every((pod) => baseline.timesOf(pod.name).length >= 2), 120_000)
      const deadline = Date.now() + 120_000
      let imports = (await snyk.activity('acme/bench-new-')).imports
      while (new Set(imports.map((entry) => entry.name)).size < newPods) {
        if (Date.now() > deadline) throw new Error(`only ${new Set(imports.map((entry) => entry.name)).size} of ${newPods} new images were imported 2 minutes after the last pod: ${watch.context()}`)
        await sleep(200)
        imports = (await snyk.activity('acme/bench-new-')).imports
      }
      const phaseEnded = Date.now()
      clearInterval(lagScraper)
      const profile = await profiler?.stop()
      const metricsAfter = await watch.metrics()
      const counted = (prefix: string): number => {
        let sum = 0
        for (const [name, value] of metricsAfter) if (name.startsWith(prefix)) sum += value - (metricsBefore.get(name) ?? 0)
        return sum
      }
      await settle('the new images')
      const activityAfter = await snyk.activity('')
      const watchLatencies: number[] = []
      const kubectlLatencies: number[] = []
      const writeLatencies: number[] = []
      let duplicates = 0
      for (const pod of written) {
        const requests = imports.filter((entry) => entry.name === pod.target)
        if (requests.length !== 1) duplicates += requests.length - 1
        const importAt = requests[0]!.at
        const line = baseline.timesOf(pod.name)[1]!
        watchLatencies.push(importAt - pod.t0)
        kubectlLatencies.push(line - pod.t0)
        writeLatencies.push(pod.t1 - pod.t0)
      }
      // Requests answered 201 after retries are still one import: a 429 or 5xx answer is a retry.
      const finalImports = (await snyk.activity('acme/bench-new-')).imports
      const accepted = finalImports.filter((entry) => entry.status === 201)
      const refused = finalImports.length - accepted.length
      const acceptedTwice = accepted.length - new Set(accepted.map((entry) => entry.name)).size
      if (acceptedTwice > 0) throw new Error(`${acceptedTwice} new images were imported more than once`)
      const phaseRequests = activityAfter.requests - activityBefore.requests
      const phaseMinutes = (phaseEnded - phaseStarted) / 60_000
      const load = phaseRequests / phaseMinutes
      const [w50, w99, k50, k99] = [percentile(watchLatencies, 0.5), percentile(watchLatencies, 0.99), percentile(kubectlLatencies, 0.5), percentile(kubectlLatencies, 0.99)]
      const slowest = written
        .map((pod, i) => ({index: pod.index, watch: watchLatencies[i]!, kubectl: kubectlLatencies[i]!}))
        .sort((a, b) => b.watch - a.watch)
        .slice(0, 5)
      const w2Ok = w99 <= 1000
      if (!w2Ok) missed++
      const finalWatch = processFigures(watch.pid)
      console.log(
        `load      ${newPods} new pods in ${seconds(createdAll - phaseStarted)} (${fmt(newPods / ((createdAll - phaseStarted) / 1000), 1)}/s); Snyk requests during the phase (imports and job polls, by watch): ` +
          `${phaseRequests} in ${seconds(phaseEnded - phaseStarted)} = ${fmt(load, 0)}/min, ${fmt(load / rate, 2)} of --rate ${rate}; import answers other than 201: ${refused}; ` +
          `status write (PATCH) p50 ${ms(percentile(writeLatencies, 0.5))}, p99 ${ms(percentile(writeLatencies, 0.99))}`,
      )
      console.log(
        `W2   status write -> import request (watch): p50 ${ms(w50)}, p99 ${ms(w99)}, max ${ms(Math.max(...watchLatencies))}; ` +
          `status write -> kubectl --watch line (baseline): p50 ${ms(k50)}, p99 ${ms(k99)}, max ${ms(Math.max(...kubectlLatencies))}; ` +
          `ratio p50 ${fmt(w50 / Math.max(k50, 1), 1)}, p99 ${fmt(w99 / Math.max(k99, 1), 1)}; every new image imported once${duplicates > 0 ? ` (${duplicates} retried requests)` : ''}; goal p99 <= 1000 ms  ${w2Ok ? 'OK' : 'MISSED'}`,
      )
      console.log(
        `detail    watch latencies over 100 ms: ${watchLatencies.filter((value) => value > 100).length}, over 1 s: ${watchLatencies.filter((value) => value > 1000).length}; ` +
          `watch's longest event-loop delay during the phase (its /metrics, scraped every second) ${ms(lagMaxMs)}; ` +
          `its Snyk retries ${counted('snyk_watch_snyk_retries_total')}, 429 pauses ${counted('snyk_watch_snyk_rate_limit_pauses_total')}, watch restarts ${counted('snyk_watch_watch_restarts_total')}; ` +
          `slowest (new pod #: watch / kubectl): ${slowest.map((pod) => `#${pod.index} ${ms(pod.watch)} / ${ms(pod.kubectl)}`).join(', ')}`,
      )
      if (traceFile) {
        const pods = written.map((pod) => ({...pod, kubectlLine: baseline.timesOf(pod.name)[1], kubectlAdded: baseline.timesOf(pod.name)[0]}))
        await writeFile(traceFile, JSON.stringify({phaseStarted, phaseEnded, pods, requests: await snyk.requests(phaseStarted - 10_000), audits: watch.audits.filter((audit) => audit.at >= phaseStarted - 10_000)}, null, 1))
        console.log(`trace     ${traceFile}: W2's pods (status write t0, kubectl lines), the emulator's requests and watch's audit lines`)
      }
      if (profile && cpuProfileDir) {
        await mkdir(cpuProfileDir, {recursive: true})
        const file = path.join(cpuProfileDir, `watch-w2-${pods}.cpuprofile`)
        await writeFile(file, JSON.stringify(profile))
        console.log(`profile   ${file}: watch during W2 (started with --inspect)\n${summarizeCpuProfile(profile, root)}`)
      }
      console.log(`W1   after W2: watch VmHWM ${mb(finalWatch.hwmKb)} (${finalWatch.hwmKb > hwmBeforeW2 ? 'grew' : 'unchanged'} during W2; now ${mb(finalWatch.rssKb)}, CPU ${fmt(finalWatch.cpuSeconds, 1)} s)`)
    }

    // A clean stop: SIGTERM, exit 0.
    const [watchExit] = await Promise.all([stopChild(watch.child), stopChild(baseline.child)])
    if (watchExit !== 0) throw new Error(`watch exited with ${watchExit} on SIGTERM: ${watch.context()}`)
    const problems = watch.problems.filter((line) => !/^SIGTERM/.test(String(line.msg)))
    if (problems.length > 0) console.log(`note      watch logged ${problems.length} warnings/errors, e.g. ${JSON.stringify(problems.slice(0, 3))}`)
    const results = new Map<string, number>()
    for (const audit of watch.audits) results.set(audit.result, (results.get(audit.result) ?? 0) + 1)
    console.log(`audit     watch's audit lines: ${[...results].map(([result, count]) => `${result} ${count}`).join(', ') || 'none'}`)
  }
  const report = await snyk.report('')
  console.log(`\nemulator  ${report.requests} requests, ${report.tooManyRequests} answered 429, ${report.violations} contract violations`)
  if (report.violations > 0) missed++
} catch (error) {
  if (!interrupted) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error))
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    const dead = set?.clusters.flatMap((cluster) => cluster.pids).filter((pid) => !alive(pid)) ?? []
    if (dead.length > 0) {
      console.error(
        `the cluster's etcd or kube-apiserver (pid ${dead.join(', ')}) is gone: killed by someone else? ` +
          `(scripts/test.ts kills, when it ends, every control-plane process that started while it ran)`,
      )
    }
    missed++
  }
} finally {
  if (!interrupted) await cleanup()
}
if (!interrupted) {
  console.log(`wall time ${seconds(performance.now() - benchStarted)}`)
  process.exitCode = missed > 0 ? 1 : 0
}

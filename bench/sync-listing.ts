// Benchmarks P1 and P4 of `kubectl snyk-watch sync --dry-run --all-contexts` on --clusters real local
// clusters (etcd + kube-apiserver each; default 3), against kubectl on the same API servers and against
// the physical floor of the listing, in the same run.
//
//     node bench/sync-listing.ts [--clusters 3] [--pods 1000[,10000]] [--repeat 3] [--page-size 250]
//                                [--seed-concurrency 16] [--skip-build] [--cpu-prof DIR]
//
// Builds the CLI first (`npm run build`'s tsc; --skip-build to use dist/ as it is). Needs /usr/bin/time
// (Debian: apt-get install time) for peak RSS. The clusters (contexts bench-a, bench-b, ...) are started
// once; each --pods value is a step: every cluster is grown to that many pods (seeding is timed and
// printed), then measured; several steps share the clusters. `--clusters 1 --pods 30000` measures one
// large cluster.
//
// Baseline: `kubectl get pods -A -o json`, once per context, one after the other (sum of the wall
// times); also all contexts at once (wall time until all end). Every command writes its stdout to a file.
// Context lines, not goals: `kubectl get pods -A` (server-side table) and `kubectl get --raw /api/v1/pods`
// (one unpaginated GET copied out as is: roughly what fetching the bytes costs).
// P1: wall time of the CLI / sequential kubectl baseline. Goal <= 0.5.
// P4: peak RSS of the CLI process at the largest step.  Goal <= 150 MB; ratio to kubectl's peak RSS
//     (the largest of its per-context processes).
// Floor: bench/minimal-lister.ts, a separate process on the project's node like the CLI (run as JavaScript,
//     its types stripped, loading the build in dist/ as the CLI does; under /usr/bin/time too): for every
//     context of the same kubeconfig, concurrently as sync does, it pages the pods with the CLI's page size
//     through the CLI's own targets and KubeApiClient (same TLS, keep-alive, undici dispatcher), parses each
//     page and counts the pods, nothing more. sync --dry-run / floor: goal <= 1.5 at steps of 10,000 pods or
//     more in all. The CLI's page size is fixed (250, listTargetPods' default in src/kube/pod-lister.ts;
//     sync has no flag or variable for it): --page-size sets the floor's only, and its ratio is then no goal,
//     only what another page size would change physically.
// Each figure is the median of --repeat rounds (each round runs every command; the CLI and the floor take
// turns going first), after one warm-up of the CLI, the floor and kubectl's discovery cache. Every CLI run
// must report the pods, containers and unique images seeded (computed from the seeded objects, not by the
// code under test), every floor run must count the pods seeded in every context, and kubectl must list every
// pod in the first round, or the bench fails. --cpu-prof DIR adds one profiled CLI run and one profiled floor
// run at the largest step and prints where their time goes.
import {spawn} from 'node:child_process'
import {existsSync, openSync, closeSync} from 'node:fs'
import {mkdir, readFile, readdir, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {transform} from 'esbuild'
import {writeKubeconfig} from '../test/controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from '../test/helpers/clusters.ts'
import {summarizeCpuProfile} from './cpu-profile-summary.ts'
import {FleetSeeder} from './fleet-seeder.ts'
import {expectationOf, planFleet, type FleetExpectation} from './pod-fleet.ts'
import {build, childEnv} from './cli-process.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const node = path.join(root, 'node_modules', '.bin', 'node')
const timeBinary = '/usr/bin/time'
/** The page size of the CLI's pod list: listTargetPods' default (src/kube/pod-lister.ts); sync has no setting for it. */
const cliPageSize = 250

const {values} = parseArgs({
  options: {
    clusters: {type: 'string', default: '3'},
    pods: {type: 'string', default: '1000'},
    'page-size': {type: 'string', default: String(cliPageSize)},
    repeat: {type: 'string', default: '3'},
    'seed-concurrency': {type: 'string', default: '16'},
    'skip-build': {type: 'boolean', default: false},
    'cpu-prof': {type: 'string'},
  },
})
const steps = values.pods.split(',').map((text) => positiveInteger('pods', text))
if (steps.some((n, i) => i > 0 && n <= steps[i - 1]!)) throw new Error('--pods steps must increase: --pods 1000,10000')
const repeat = positiveInteger('repeat', values.repeat)
const seedConcurrency = positiveInteger('seed-concurrency', values['seed-concurrency'])
const cpuProfileDir = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined
const clusterCount = positiveInteger('clusters', values.clusters)
if (clusterCount > 26) throw new Error(`--clusters must be at most 26 (contexts bench-a to bench-z), got ${clusterCount}`)
const contexts = Array.from({length: clusterCount}, (_, i) => `bench-${String.fromCharCode(97 + i)}`)
const floorPageSize = positiveInteger('page-size', values['page-size'])

interface Measured {
  wallMs: number
  maxRssKb: number
  code: number
  stdoutFile: string
  stderr: string
}

interface FloorReport {
  pods: number
  targets: Array<{name: string; pods: number; pages: number}>
}

interface CliReport {
  exitCode: number
  durationMs: number
  counts: {targets: number; targetsFailed: number; pods: number; containers: number; images: number}
  targets: Array<{name: string; status: string; pods: number; error?: string}>
  problems: unknown[]
}

function positiveInteger(name: string, value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} must be an integer >= 1, got ${JSON.stringify(value)}`)
  return number
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
const ms = (value: number): string => `${value.toFixed(0)} ms`
const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`
const fmt = (value: number, digits = 3): string => value.toFixed(digits)
const loadAverage = (): string => os.loadavg().map((load) => load.toFixed(2)).join(' ')

/** Runs a command under /usr/bin/time (for its peak RSS), stdout to a file; resolves when it has exited. */
async function measure(command: string, args: string[], env: NodeJS.ProcessEnv, stdoutFile: string): Promise<Measured> {
  const rssFile = `${stdoutFile}.rss`
  const out = openSync(stdoutFile, 'w')
  const started = performance.now()
  try {
    return await new Promise<Measured>((resolve, reject) => {
      const child = spawn(timeBinary, ['-f', '%M', '-o', rssFile, command, ...args], {cwd: root, env, stdio: ['ignore', out, 'pipe']})
      let stderr = ''
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      child.once('error', reject)
      child.once('close', (code) => {
        const wallMs = performance.now() - started
        readFile(rssFile, 'utf8').then(
          (text) => resolve({wallMs, maxRssKb: Number(text.trim().split('\n').pop()), code: code ?? 1, stdoutFile, stderr}),
          reject,
        )
      })
    })
  } finally {
    closeSync(out)
  }
}


async function readCliReport(run: Measured, expected: FleetExpectation, label: string): Promise<CliReport> {
  const text = await readFile(run.stdoutFile, 'utf8')
  let report: CliReport
  try {
    report = JSON.parse(text) as CliReport
  } catch {
    throw new Error(`${label}: the CLI did not print JSON (exit ${run.code}): ${text.slice(0, 300)}\n${run.stderr.slice(0, 2000)}`)
  }
  const failures: string[] = []
  if (run.code !== 0 || report.exitCode !== 0) failures.push(`exit code ${run.code} (result ${report.exitCode})`)
  if (report.counts.targets !== contexts.length || report.counts.targetsFailed !== 0) failures.push(`targets ${report.counts.targets}, failed ${report.counts.targetsFailed}: ${JSON.stringify(report.targets)}`)
  if (report.counts.pods !== expected.pods) failures.push(`pods ${report.counts.pods}, seeded ${expected.pods}`)
  if (report.counts.containers !== expected.containers) failures.push(`containers ${report.counts.containers}, seeded ${expected.containers}`)
  if (report.counts.images !== expected.images) failures.push(`unique images ${report.counts.images}, seeded ${expected.images}`)
  if (report.problems.length !== 0) failures.push(`${report.problems.length} image problems: ${JSON.stringify(report.problems.slice(0, 3))}`)
  if (failures.length > 0) throw new Error(`${label}: the sync run did not do the work seeded:\n  ${failures.join('\n  ')}\n${run.stderr.slice(0, 2000)}`)
  return report
}

async function readFloorReport(run: Measured, podsPerCluster: number, label: string): Promise<FloorReport> {
  const text = await readFile(run.stdoutFile, 'utf8')
  let report: FloorReport
  try {
    report = JSON.parse(text) as FloorReport
  } catch {
    throw new Error(`${label}: the minimal lister did not print JSON (exit ${run.code}): ${text.slice(0, 300)}\n${run.stderr.slice(0, 2000)}`)
  }
  const counted = contexts.map((context) => `${context} ${report.targets.find((target) => target.name === context)?.pods ?? 'none'}`)
  if (run.code !== 0 || report.targets.length !== contexts.length || report.pods !== podsPerCluster * contexts.length || report.targets.some((target) => target.pods !== podsPerCluster)) {
    throw new Error(`${label}: the minimal lister did not count the pods seeded (exit ${run.code}): ${report.pods} pods (${counted.join(', ')}), seeded ${podsPerCluster} per context\n${run.stderr.slice(0, 2000)}`)
  }
  return report
}

async function checkKubectlOutput(run: Measured, context: string, podsPerCluster: number): Promise<void> {
  const list = JSON.parse(await readFile(run.stdoutFile, 'utf8')) as {items?: unknown[]}
  if (list.items?.length !== podsPerCluster) throw new Error(`kubectl --context ${context} listed ${list.items?.length} pods, seeded ${podsPerCluster}`)
}

let set: ClusterSet | undefined
const seeders: FleetSeeder[] = []
let missed = 0
try {
  if (!existsSync(timeBinary)) throw new Error(`${timeBinary} is needed for peak RSS: apt-get install time`)
  if (!values['skip-build']) await build()
  const maxPods = steps.at(-1)!
  const plans = contexts.map((name, i) => planFleet(name, i, maxPods))

  set = await startClusters(contexts.length, {names: contexts})
  const clusters = set.clusters
  const kubectl = set.binaries.kubectl
  const home = path.join(set.workDir, 'home')
  await mkdir(home, {recursive: true})
  const env = childEnv(home)
  const kubeconfig = await writeKubeconfig(path.join(set.workDir, 'kubeconfig.yaml'), clusters.map((cluster) => ({name: cluster.name, cluster})))
  const out = (name: string) => path.join(set!.workDir, name)
  const cliArgs = ['bin/run.js', 'sync', '--dry-run', '--all-contexts', '--kubeconfig', kubeconfig, '-o', 'json']
  // The floor runs as JavaScript, like the CLI: its types stripped once here, the modules it loads from dist/.
  const floorScript = out('minimal-lister.mjs')
  const floorSource = await readFile(path.join(root, 'bench', 'minimal-lister.ts'), 'utf8')
  await writeFile(floorScript, (await transform(floorSource, {loader: 'ts', format: 'esm', target: 'node22'})).code)
  const floorArgs = [floorScript, '--dist', path.join(root, 'dist'), '--kubeconfig', kubeconfig, '--page-size', String(floorPageSize)]
  const kubectlArgs = ['get', 'pods', '-A', '-o', 'json']
  seeders.push(...clusters.map((cluster, i) => new FleetSeeder(cluster, plans[i]!, {concurrency: seedConcurrency})))
  console.log(
    `sync-listing: ${contexts.length} clusters (kube-apiserver ${set.binaries.kubernetesVersion}, etcd ${set.binaries.etcdVersion}), steps ${steps.join(', ')} pods per cluster, ` +
      `median of ${repeat} runs, ${os.cpus().length} CPUs, ${mb(os.totalmem() / 1024)} RAM, node ${process.version}; ` +
      `pages of ${cliPageSize} pods for the CLI (fixed), ${floorPageSize} for the floor`,
  )

  for (const podsPerCluster of steps) {
    // Seed: grow every cluster to podsPerCluster pods, all clusters at once.
    const before = seeders.reduce((sum, s) => sum + s.stats.requests, 0)
    const seedStarted = performance.now()
    await Promise.all(seeders.map((seeder) => seeder.seedUpTo(podsPerCluster)))
    const seedMs = performance.now() - seedStarted
    const requests = seeders.reduce((sum, s) => sum + s.stats.requests, 0) - before
    const expected = expectationOf(plans, podsPerCluster)
    console.log(
      `\n== ${podsPerCluster} pods per cluster (${expected.pods} pods, ${expected.containers} containers, ${expected.images} unique images over ${contexts.length} clusters)\n` +
        `seeding   ${requests} requests (pod POST + status PATCH, namespaces, ReplicaSets, Jobs) in ${(seedMs / 1000).toFixed(1)} s: ` +
        `${(requests / (seedMs / 1000)).toFixed(0)} requests/s, ${seeders.reduce((sum, s) => sum + s.stats.retries, 0)} retries so far`,
    )

    // Warm-up: kubectl's discovery cache (a user's is warm), the file cache for node_modules, and a first check of the CLI.
    const warm = await measure(kubectl, ['--kubeconfig', kubeconfig, '--context', contexts[0]!, 'get', 'namespaces', '-o', 'name'], env, out('kubectl-warm-up.txt'))
    if (warm.code !== 0) throw new Error(`kubectl failed: ${warm.stderr.slice(0, 2000)}`)
    await readCliReport(await measure(node, cliArgs, env, out('cli.json')), expected, 'warm-up')
    await readFloorReport(await measure(node, floorArgs, env, out('floor.json')), podsPerCluster, 'floor warm-up')

    const loadBefore = loadAverage()
    const sequential: Array<{wallMs: number; maxRssKb: number}> = []
    const concurrent: number[] = []
    const table: number[] = []
    const raw: number[] = []
    const cli: Array<{wallMs: number; maxRssKb: number; durationMs: number}> = []
    const floor: Array<{wallMs: number; maxRssKb: number; pages: number}> = []
    /** Runs kubectl once per context, one after the other: total wall time and the largest peak RSS. */
    const kubectlEach = async (args: string[], name: string, check?: (run: Measured, context: string) => Promise<void>): Promise<{wallMs: number; maxRssKb: number}> => {
      let wallMs = 0
      let maxRssKb = 0
      for (const context of contexts) {
        const run = await measure(kubectl, ['--kubeconfig', kubeconfig, '--context', context, ...args], env, out(`kubectl-${name}-${context}.out`))
        if (run.code !== 0) throw new Error(`kubectl --context ${context} ${args.join(' ')} failed (exit ${run.code}): ${run.stderr.slice(0, 2000)}`)
        await check?.(run, context)
        wallMs += run.wallMs
        maxRssKb = Math.max(maxRssKb, run.maxRssKb)
      }
      return {wallMs, maxRssKb}
    }
    for (let round = 0; round < repeat; round++) {
      // The first round also checks that kubectl listed every pod seeded (between the timed runs).
      sequential.push(await kubectlEach(kubectlArgs, 'json', round === 0 ? (run, context) => checkKubectlOutput(run, context, podsPerCluster) : undefined))

      const concurrentStarted = performance.now()
      const runs = await Promise.all(contexts.map((context) => measure(kubectl, ['--kubeconfig', kubeconfig, '--context', context, ...kubectlArgs], env, out(`kubectl-concurrent-${context}.out`))))
      concurrent.push(performance.now() - concurrentStarted)
      for (const [i, run] of runs.entries()) if (run.code !== 0) throw new Error(`kubectl --context ${contexts[i]} failed: ${run.stderr.slice(0, 2000)}`)

      table.push((await kubectlEach(['get', 'pods', '-A'], 'table')).wallMs)
      raw.push((await kubectlEach(['get', '--raw', '/api/v1/pods'], 'raw')).wallMs)

      // The CLI and the floor take turns going first, so neither always runs right after kubectl's large processes.
      const runCli = async () => {
        const run = await measure(node, cliArgs, env, out('cli.json'))
        const report = await readCliReport(run, expected, `round ${round + 1}`)
        cli.push({wallMs: run.wallMs, maxRssKb: run.maxRssKb, durationMs: report.durationMs})
      }
      const runFloor = async () => {
        const run = await measure(node, floorArgs, env, out('floor.json'))
        const report = await readFloorReport(run, podsPerCluster, `floor round ${round + 1}`)
        floor.push({wallMs: run.wallMs, maxRssKb: run.maxRssKb, pages: report.targets.reduce((sum, target) => sum + target.pages, 0)})
      }
      for (const step of round % 2 === 0 ? [runCli, runFloor] : [runFloor, runCli]) await step()
    }

    const baseline = median(sequential.map((r) => r.wallMs))
    const baselineConcurrent = median(concurrent)
    const cliWall = median(cli.map((r) => r.wallMs))
    const cliWork = median(cli.map((r) => r.durationMs))
    const p1 = cliWall / baseline
    const p1Ok = p1 <= 0.5
    const cliRss = median(cli.map((r) => r.maxRssKb))
    const kubectlRss = median(sequential.map((r) => r.maxRssKb))
    const largest = podsPerCluster === maxPods
    const p4Ok = cliRss / 1024 <= 150
    const floorWall = median(floor.map((r) => r.wallMs))
    const floorRatio = cliWall / floorWall
    // A goal where the listing is large enough for start-up not to dominate, and the floor pages as the CLI does.
    const floorGoal = expected.pods >= 10_000 && floorPageSize === cliPageSize
    const floorOk = floorRatio <= 1.5
    if (!p1Ok) missed++
    if (largest && !p4Ok) missed++
    if (floorGoal && !floorOk) missed++
    const runsOf = (values: number[]) => values.map((v) => v.toFixed(0)).join('/')
    console.log(`machine   load average ${loadBefore} before the measurements, ${loadAverage()} after (other work on the machine makes the absolute times noisy)`)
    console.log(`counts    every CLI run: ${expected.pods} pods, ${expected.containers} containers, ${expected.images} unique images, 0 problems (as seeded); kubectl listed ${podsPerCluster} pods per context`)
    console.log(`baseline  kubectl get pods -A -o json x ${contexts.length} contexts: sequential ${ms(baseline)} (runs ${runsOf(sequential.map((r) => r.wallMs))}), concurrent ${ms(baselineConcurrent)} (runs ${runsOf(concurrent)})`)
    console.log(
      `context   sequential x ${contexts.length}, not goals: kubectl get pods -A (server-side table) ${ms(median(table))}; ` +
        `kubectl get --raw /api/v1/pods (one unpaginated GET, body copied out as is: about the cost of fetching the bytes) ${ms(median(raw))}`,
    )
    console.log(
      `P1   sync --dry-run --all-contexts: ${ms(cliWall)} wall (runs ${runsOf(cli.map((r) => r.wallMs))}; ${ms(cliWork)} inside the sync, ${ms(cliWall - cliWork)} start-up and exit); ` +
        `ratio to sequential kubectl ${fmt(p1)} (goal <= 0.5), to concurrent kubectl ${fmt(cliWall / baselineConcurrent)}, to raw GETs ${fmt(cliWall / median(raw))}  ${p1Ok ? 'OK' : 'MISSED'}`,
    )
    console.log(
      `P4   peak RSS: CLI ${mb(cliRss)} (runs ${cli.map((r) => mb(r.maxRssKb)).join('/')}), kubectl ${mb(kubectlRss)} (largest of the ${contexts.length} per-context processes); ` +
        `ratio ${fmt(cliRss / kubectlRss)}; goal <= 150 MB${largest ? `  ${p4Ok ? 'OK' : 'MISSED'}` : ' (checked at the largest step)'}`,
    )
    console.log(
      `floor  minimal lister (page ${floorPageSize}, parse only): ${ms(floorWall)} wall (runs ${runsOf(floor.map((r) => r.wallMs))}; ${floor[0]!.pages} pages), ` +
        `peak RSS ${mb(median(floor.map((r) => r.maxRssKb)))} (runs ${floor.map((r) => mb(r.maxRssKb)).join('/')}); ` +
        `sync --dry-run / floor = ${fmt(floorRatio)} (goal <= 1.5)` +
        (floorPageSize !== cliPageSize
          ? ` (no goal: the floor pages ${floorPageSize}, the CLI ${cliPageSize})`
          : floorGoal
            ? `  ${floorOk ? 'OK' : 'MISSED'}`
            : ' (checked from 10,000 pods in all)'),
    )

    if (cpuProfileDir && largest) {
      await mkdir(cpuProfileDir, {recursive: true})
      /** One run with --cpu-prof into cpuProfileDir: the wall time and the profile it wrote. */
      const profiled = async (args: string[], name: string): Promise<{run: Measured; profile: string}> => {
        const known = new Set(await readdir(cpuProfileDir))
        const run = await measure(node, ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir, ...args], env, out(name))
        const profile = (await readdir(cpuProfileDir)).find((file) => file.endsWith('.cpuprofile') && !known.has(file))
        if (!profile) throw new Error(`no .cpuprofile written to ${cpuProfileDir}`)
        return {run, profile: path.join(cpuProfileDir, profile)}
      }
      const cliProfiled = await profiled(cliArgs, 'cli-profiled.json')
      await readCliReport(cliProfiled.run, expected, 'profiled run')
      console.log(`\nprofile   sync --dry-run: ${cliProfiled.profile} (one run, ${ms(cliProfiled.run.wallMs)} wall with the profiler on)`)
      console.log(summarizeCpuProfile(JSON.parse(await readFile(cliProfiled.profile, 'utf8')), root))
      const floorProfiled = await profiled(floorArgs, 'floor-profiled.json')
      await readFloorReport(floorProfiled.run, podsPerCluster, 'profiled floor run')
      console.log(`\nprofile   floor (minimal lister): ${floorProfiled.profile} (one run, ${ms(floorProfiled.run.wallMs)} wall with the profiler on)`)
      console.log(summarizeCpuProfile(JSON.parse(await readFile(floorProfiled.profile, 'utf8')), root))
    }
  }
} finally {
  await Promise.all(seeders.map((seeder) => seeder.close()))
  await set?.stop()
}
process.exitCode = missed > 0 ? 1 : 0

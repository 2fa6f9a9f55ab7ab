// Builds everything `sync` needs from its options (targets, state store, Snyk client, submission core,
// progress display, one AbortSignal for SIGINT/SIGTERM and --timeout), runs the pipeline, and cleans up.
import {onStopSignals} from '../cli/stop-signals.ts'
import {createIntegrationMap, parseIntegrationOptions} from '../images/integration-map.ts'
import {CONTAINER_INTEGRATION_TYPES} from '../images/snyk-target-name.ts'
import {loadKubeconfigs} from '../kube/kubeconfig-loader.ts'
import {resolveTargets, targetsForStore} from '../kube/target.ts'
import {LineProgress, ListrProgress, SilentProgress} from '../render/sync-progress.ts'
import {isPostgresUrl} from '../state/postgres/location.ts'
import {defaultStatePath, openStore} from '../state/state-store.ts'
import {connectSnyk} from '../submit/snyk-connection.ts'
import type {SyncOptions} from './sync-options.ts'
import type {SyncProgress} from './sync-progress.ts'
import {judgeSync} from './sync-gate.ts'
import type {SyncResult} from './sync-result.ts'
import {runSync} from './sync-service.ts'

export interface SyncIO {
  env: NodeJS.ProcessEnv
  stderr: NodeJS.WriteStream
  /** --json / -o json: nothing but the result on stdout, no progress. */
  json: boolean
  /** Process signals to stop on (tests pass their own emitter). */
  signals?: NodeJS.EventEmitter
  /** After a first SIGINT/SIGTERM, how long in-flight requests may take to finish (default 10 s). */
  drainMs?: number
}

/** Under --dry-run there is no token to discover the org's integrations: assume the org has each type. */
const dryRunDiscovery = Object.fromEntries(CONTAINER_INTEGRATION_TYPES.map((type) => [type, '(discovered from the org)']))

function chooseProgress(io: SyncIO): SyncProgress {
  if (io.json) return new SilentProgress()
  if (io.stderr.isTTY && io.env.TERM !== 'dumb' && !io.env.CI) return new ListrProgress(io.stderr)
  return new LineProgress((line) => io.stderr.write(`${line}\n`))
}

export async function runSyncCommand(options: SyncOptions, io: SyncIO): Promise<SyncResult> {
  const integrations = parseIntegrationOptions(options.integrations)
  const statePath = options.statePath ?? defaultStatePath(io.env)
  const targets = targetsForStore(resolveTargets(loadKubeconfigs({paths: options.kubeconfigs, env: io.env, homeDir: options.homeDir}), options.targets), {
    clusterName: options.clusterName,
    shared: !options.dryRun && isPostgresUrl(statePath),
  })

  // First SIGINT/SIGTERM: stop gracefully (nothing new starts, in-flight requests finish and are
  // recorded, within drainMs). A second one, or the deadline, cancels what is still in flight.
  const graceful = new AbortController()
  const hard = new AbortController()
  let drainTimer: NodeJS.Timeout | undefined
  const stopListening = onStopSignals(io.signals ?? process, {
    graceful(name) {
      graceful.abort(new Error(`interrupted by ${name}`))
      drainTimer = setTimeout(() => hard.abort(new Error('in-flight requests did not finish in time')), io.drainMs ?? 10_000)
      drainTimer.unref()
    },
    hard: (name) => hard.abort(new Error(`interrupted by a second ${name}`)),
  })
  const signal = options.timeoutMs ? AbortSignal.any([hard.signal, AbortSignal.timeout(options.timeoutMs)]) : hard.signal
  const progress = chooseProgress(io)
  const common = {targets, scope: options.scope, progress, clock: Date.now, signal, stop: graceful.signal, resubmitAfterMs: options.resubmitAfterMs, wait: options.wait, concurrency: options.concurrency, forgetAfterMs: options.forgetAfterMs}

  try {
    if (options.dryRun) {
      return await runSync({...common, dryRunIntegrations: createIntegrationMap({options: integrations, discovered: dryRunDiscovery})})
    }
    const store = await openStore(statePath, {env: io.env})
    const snyk = connectSnyk(options, signal)
    try {
      const submitter = snyk.submitter(options.integrations, options.waitTimeoutMs)
      // Images another live run holds are waited for within this run's own --timeout (less a margin to report).
      const holderWaitMs = options.timeoutMs ? Math.max(0, options.timeoutMs - 5_000) : undefined
      const result = await runSync({...common, store, submitter, ...(holderWaitMs === undefined ? {} : {holderWaitMs})})
      if (options.failOn !== undefined) await judgeSync(result, store, snyk, {failOn: options.failOn, newOnly: options.failOnNew})
      return result
    } finally {
      await snyk.close()
      await store.close()
    }
  } finally {
    clearTimeout(drainTimer)
    await progress.close()
    stopListening()
  }
}

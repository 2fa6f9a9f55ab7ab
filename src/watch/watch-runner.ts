// Builds everything `watch` needs from its options (targets, state store, Snyk client and submission core,
// logger, metrics, health server, leader election), runs the service until SIGINT/SIGTERM, and shuts down:
//
// - first SIGINT/SIGTERM: the streams stop, nothing new is sent, in-flight imports may finish within
//   --shutdown-timeout, the queue is persisted in the store, the lease is released; exit 0;
// - a second one: the queue is persisted (synchronously) and the command returns 130 at once, asking the entry
//   point to end the process without waiting for what was cut off;
// - SIGHUP: the config file is read again; new filters restart the streams, a new rate applies to the
//   token's gate, new integrations are looked up again; the queue is kept.
import {randomBytes} from 'node:crypto'
import {hostname} from 'node:os'
import {defaults} from '../config/defaults.ts'
import {onStopSignals, requestExitAtOnce} from '../cli/stop-signals.ts'
import {ExitCode, messageOf} from '../errors.ts'
import {KubeApiClient} from '../kube/kube-api-client.ts'
import {loadKubeconfigs} from '../kube/kubeconfig-loader.ts'
import type {FollowOptions} from '../kube/pod-watcher.ts'
import type {PodScope} from '../kube/pod-scope.ts'
import {resolveTargets, targetsForStore} from '../kube/target.ts'
import {LeaderElector} from '../ha/leader-elector.ts'
import {startHealthServer} from '../observe/http-server.ts'
import {createLogger} from '../observe/logger.ts'
import {WatchMetrics} from '../observe/metrics.ts'
import {claimLeaseMs} from '../state/claim-holders.ts'
import {isPostgresUrl} from '../state/postgres/location.ts'
import {defaultStatePath, openStore} from '../state/state-store.ts'
import {StoreHealth, withStoreHealth} from '../state/store-health.ts'
import {processLimiters} from '../submit/limiter-registry.ts'
import {connectSnyk} from '../submit/snyk-connection.ts'
import {resolveWatchOptions, type WatchOptions} from './watch-options.ts'
import {WatchService} from './watch-service.ts'

export interface WatchIO {
  env: NodeJS.ProcessEnv
  stderr: NodeJS.WriteStream | (NodeJS.WritableStream & {isTTY?: boolean})
  /** Process signals (tests pass their own emitter). */
  signals?: NodeJS.EventEmitter
  /** Stream settings (tests shorten the server-side watch timeout). */
  follow?: Omit<FollowOptions, 'signal'>
  /** Called once the service runs (tests read the health server's URL). */
  started?: (info: {url?: string; runId: string}) => void
}

export interface WatchFlags {
  flags: Record<string, unknown>
  config: string | undefined
}

function scopeOf(options: WatchOptions): PodScope {
  return {...options.scope, ...(options.namespaceSelector ? {namespaceSelector: options.namespaceSelector} : {})}
}

export async function runWatchCommand(input: WatchFlags, io: WatchIO): Promise<number> {
  let options = resolveWatchOptions(input.flags, io.env, input.config)
  const logger = createLogger({format: options.logFormat, level: options.logLevel, stream: io.stderr})
  const statePath = options.statePath ?? defaultStatePath(io.env)
  const targets = targetsForStore(resolveTargets(loadKubeconfigs({paths: options.kubeconfigs, env: io.env, homeDir: options.homeDir}), options.targets), {
    clusterName: options.clusterName,
    shared: isPostgresUrl(statePath),
  })
  const token = options.token!

  const hard = new AbortController()
  // /readyz says when the store stops answering (a shared database down): submissions pause, streams go on.
  const storeHealth = new StoreHealth()
  const store = withStoreHealth(await openStore(statePath, {env: io.env}), storeHealth)
  const snyk = connectSnyk(options, hard.signal)
  const {core} = snyk
  const submitterFor = (integrations: string[]) => snyk.submitter(integrations, defaults.watchJobWaitMs)
  const metrics = new WatchMetrics()
  const detachMetrics = metrics.attachCore(core)
  const service = await WatchService.create({
    targets,
    scope: scopeOf(options),
    store,
    submitter: submitterFor(options.integrations),
    logger,
    metrics,
    signal: hard.signal,
    resubmitAfterMs: options.resubmitAfterMs,
    forgetAfterMs: options.forgetAfterMs,
    retryAfterMs: options.retryAfterMs,
    leaseMs: claimLeaseMs,
    concurrency: options.concurrency,
    pendingGraceMs: 2 * 60_000,
    waitForJobs: true,
    ...(io.follow ? {follow: io.follow} : {}),
  })

  const signals = io.signals ?? process
  let server: {url: string; close(): Promise<void>} | undefined
  const election = new AbortController()
  let elector: LeaderElector | undefined
  let electorRun: Promise<void> | undefined
  let electionClient: KubeApiClient | undefined
  let stopRequested!: (name: string) => void
  const stopping = new Promise<string>((resolve) => (stopRequested = resolve))
  let stoppedHard!: () => void
  const hardStop = new Promise<number>((resolve) => (stoppedHard = () => resolve(ExitCode.interrupted)))
  const stopListening = onStopSignals(signals, {
    graceful(name) {
      logger.info({signal: name}, `${name}: stopping (again to exit at once)`)
      stopRequested(name)
    },
    hard(name) {
      // The queue is stored first (at once for SQLite), then everything in flight is cut off.
      void service.persistQueue().then((persisted) => {
        logger.warn({signal: name, persisted}, `second ${name}: exiting at once; ${persisted} queued images are kept for the next start`)
        hard.abort(new Error(`interrupted by a second ${name}`))
        requestExitAtOnce()
        stoppedHard()
      })
    },
  })
  const onHangup = () => {
    void reload().catch((error: unknown) => logger.error({error: messageOf(error)}, 'SIGHUP: the configuration was not reloaded'))
  }
  const reload = async () => {
    const next = resolveWatchOptions(input.flags, io.env, input.config)
    const changes: string[] = []
    if (next.ratePerMinute !== options.ratePerMinute) {
      processLimiters.lane(token).gate.setConfiguredRate(next.ratePerMinute)
      changes.push(`rate ${options.ratePerMinute} -> ${next.ratePerMinute}/min`)
    }
    if (JSON.stringify(scopeOf(next)) !== JSON.stringify(scopeOf(options))) changes.push('filters (the streams restart)')
    const integrationsChanged = JSON.stringify(next.integrations) !== JSON.stringify(options.integrations)
    if (integrationsChanged) changes.push('integrations')
    const integrations = integrationsChanged ? await submitterFor(next.integrations).integrationMap() : undefined
    service.reconfigure({scope: scopeOf(next), ...(integrations ? {integrations} : {})})
    options = next
    logger.info({changes}, changes.length > 0 ? `SIGHUP: configuration reloaded (${changes.join(', ')})` : 'SIGHUP: configuration reloaded, nothing changed')
  }
  signals.on('SIGHUP', onHangup)

  try {
    if (options.listen) {
      server = await startHealthServer({listen: options.listen, metrics, live: () => ({ok: true}), ready: () => (storeHealth.problem === undefined ? service.readiness() : {ok: false, reason: `the state store does not answer: ${storeHealth.problem}`})})
      logger.info({url: server.url}, `serving /healthz, /readyz and /metrics on ${server.url}`)
    }
    await service.start()
    if (options.leaderElection) {
      const identity = `${hostname()}_${process.pid}_${randomBytes(3).toString('hex')}`
      electionClient = new KubeApiClient(targets[0]!)
      const lease = options.leaderElection
      elector = new LeaderElector({client: electionClient, namespace: lease.namespace, name: lease.name, identity, leaseDurationMs: lease.leaseDurationMs, renewDeadlineMs: Math.floor(lease.leaseDurationMs * 2 / 3), retryPeriodMs: Math.max(500, Math.floor(lease.leaseDurationMs / 7))})
      elector.on('leading', () => {
        metrics.setLeader(true)
        service.setLeading(true)
      })
      elector.on('following', (info: {holder?: string}) => {
        metrics.setLeader(false)
        service.setLeading(false)
        logger.info({holder: info.holder}, `following ${info.holder ?? 'another replica'}`)
      })
      elector.on('problem', (message: string) => logger.warn({lease: `${lease.namespace}/${lease.name}`}, `leader election: ${message}`))
      logger.info({identity, lease: `${lease.namespace}/${lease.name}`}, 'leader election: waiting for the lease')
      electorRun = elector.run(election.signal)
    } else {
      metrics.setLeader(true)
      service.setLeading(true)
    }
    logger.info({runId: service.runId, targets: targets.map((t) => t.name)}, `watching ${targets.length} target${targets.length === 1 ? '' : 's'}`)
    io.started?.({runId: service.runId, ...(server ? {url: server.url} : {})})

    let fatal: unknown
    const stopped = (async () => {
      await Promise.race([stopping, service.failed.catch((error: unknown) => (fatal = error))])
      const shutdown = await service.stop(fatal ? 0 : options.shutdownTimeoutMs, () => hard.abort(new Error('the shutdown deadline passed')))
      election.abort()
      await electorRun
      logger.info({persisted: shutdown.persisted, cutOff: shutdown.cutOff}, `stopped; ${shutdown.persisted} queued images are kept for the next start`)
      if (fatal) throw fatal
      return ExitCode.ok
    })()
    // A second signal does not wait for the graceful stop: what it cut off ends when the process does.
    void stopped.catch(() => undefined)
    return await Promise.race([stopped, hardStop])
  } finally {
    stopListening()
    signals.off('SIGHUP', onHangup)
    election.abort()
    hard.abort()
    detachMetrics()
    await server?.close()
    await electionClient?.close()
    await snyk.close()
    await store.close()
  }
}

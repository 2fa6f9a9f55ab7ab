// The options of `watch`, resolved from flags, environment and config file into one typed object. The
// config file is read again on SIGHUP (resolveWatchOptions is called again with the same flags).
import {existsSync, readFileSync} from 'node:fs'
import {defaults} from '../config/defaults.ts'
import {configFilePath, oneOf, readConfigFile, resolveOptions} from '../config/option-sources.ts'
import {configFileKeys, watchOptionSpecs} from '../config/option-specs.ts'
import {pipelineOptionsOf, type PipelineOptions} from '../config/pipeline-options.ts'

export type LogFormat = 'json' | 'text' | 'auto'
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface WatchOptions extends PipelineOptions {
  resubmitAfterMs: number
  retryAfterMs: number
  shutdownTimeoutMs: number
  /** `host:port` to serve /healthz, /readyz and /metrics on; undefined: not served. */
  listen: string | undefined
  leaderElection: {namespace: string; name: string; leaseDurationMs: number} | undefined
  namespaceSelector: string | undefined
  logFormat: LogFormat
  logLevel: LogLevel
  /** Where the config file is (for SIGHUP), if any. */
  configPath: string | undefined
}

const serviceAccountNamespace = '/var/run/secrets/kubernetes.io/serviceaccount/namespace'

export function resolveWatchOptions(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, configFlag: string | undefined): WatchOptions {
  const location = configFilePath(configFlag, env)
  const o = resolveOptions(watchOptionSpecs, flags, env, readConfigFile(location), location ? `config file ${location.path}` : 'config file', configFileKeys)
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST)
  const leaseNamespace =
    (o['leader-elect-namespace'] as string | undefined) ?? (existsSync(serviceAccountNamespace) ? readFileSync(serviceAccountNamespace, 'utf8').trim() : 'default')
  return {
    ...pipelineOptionsOf(o, env, true),
    resubmitAfterMs: (o['resubmit-after'] as number | undefined) ?? defaults.resubmitAfterMs,
    retryAfterMs: (o['retry-after'] as number | undefined) ?? defaults.retryAfterMs,
    shutdownTimeoutMs: (o['shutdown-timeout'] as number | undefined) ?? defaults.shutdownTimeoutMs,
    // On in a container (the Deployment probes it), off on a laptop.
    listen: (o.listen as string | undefined) ?? (inCluster ? ':8080' : undefined),
    leaderElection:
      o['leader-elect'] === true
        ? {namespace: leaseNamespace, name: (o['leader-elect-name'] as string | undefined) ?? 'kubectl-snyk-watch', leaseDurationMs: (o['leader-elect-lease-duration'] as number | undefined) ?? defaults.leaseDurationMs}
        : undefined,
    namespaceSelector: o['namespace-selector'] as string | undefined,
    logFormat: oneOf('log-format', o['log-format'] as string | undefined, ['auto', 'json', 'text'] as const) ?? 'auto',
    logLevel: oneOf('log-level', o['log-level'] as string | undefined, ['info', 'debug', 'warn', 'error'] as const) ?? 'info',
    configPath: location?.path,
  }
}

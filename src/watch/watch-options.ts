// The options of `watch`, resolved from flags, environment and config file into one typed object. The
// config file is read again on SIGHUP (resolveWatchOptions is called again with the same flags).
import {existsSync, readFileSync} from 'node:fs'
import {defaults} from '../config/defaults.ts'
import {configFilePath, readConfigFile, resolveOptions} from '../config/option-sources.ts'
import {configFileKeys, watchOptionSpecs} from '../config/option-specs.ts'
import {pipelineOptionsOf, type PipelineOptions} from '../config/pipeline-options.ts'
import {UsageError} from '../errors.ts'

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

function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  throw new UsageError(`--${option} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, {code: 'INVALID_OPTION', suggestions: [`pass --${option} ${allowed[0]}`]})
}

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
    logFormat: oneOf('log-format', o['log-format'], ['auto', 'json', 'text'], 'auto'),
    logLevel: oneOf('log-level', o['log-level'], ['info', 'debug', 'warn', 'error'], 'info'),
    configPath: location?.path,
  }
}

// The options of `sync`, resolved from flags, environment and config file into one typed object.
import {defaults} from '../config/defaults.ts'
import {configFilePath, oneOf, readConfigFile, resolveOptions} from '../config/option-sources.ts'
import {configFileKeys, syncOptionSpecs} from '../config/option-specs.ts'
import {pipelineOptionsOf, type PipelineOptions} from '../config/pipeline-options.ts'
import {UsageError} from '../errors.ts'
import {severities, type Severity} from '../status/status-result.ts'

export interface SyncOptions extends PipelineOptions {
  resubmitAfterMs: number
  wait: boolean
  waitTimeoutMs: number
  timeoutMs: number | undefined
  dryRun: boolean
  /** --fail-on: the one-step CI gate (implies --wait). */
  failOn: Severity | undefined
  /** --fail-on-new: the gate judges only images first seen in this run. */
  failOnNew: boolean
}

export function resolveSyncOptions(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, configFlag: string | undefined): SyncOptions {
  const location = configFilePath(configFlag, env)
  const o = resolveOptions(syncOptionSpecs, flags, env, readConfigFile(location), location ? `config file ${location.path}` : 'config file', configFileKeys)
  const dryRun = o['dry-run'] === true
  const failOn = oneOf('fail-on', o['fail-on'] as string | undefined, severities)
  const failOnNew = o['fail-on-new'] === true
  if (failOnNew && failOn === undefined) throw new UsageError('--fail-on-new needs --fail-on SEVERITY', {code: 'USAGE', suggestions: ['kubectl snyk-watch sync --fail-on high --fail-on-new']})
  if (failOn !== undefined && dryRun) throw new UsageError('--fail-on cannot be used with --dry-run: the gate needs the imports and Snyk\'s counts', {code: 'USAGE', suggestions: ['drop --dry-run, or run kubectl snyk-watch status --fail-on SEVERITY on what earlier runs stored']})
  return {
    ...pipelineOptionsOf(o, env, !dryRun),
    resubmitAfterMs: (o['resubmit-after'] as number | undefined) ?? defaults.resubmitAfterMs,
    wait: o.wait === true || failOn !== undefined,
    waitTimeoutMs: (o['wait-timeout'] as number | undefined) ?? defaults.waitTimeoutMs,
    timeoutMs: o.timeout as number | undefined,
    dryRun,
    failOn,
    failOnNew,
  }
}

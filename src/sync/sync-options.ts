// The options of `sync`, resolved from flags, environment and config file into one typed object.
import {defaults} from '../config/defaults.ts'
import {configFilePath, readConfigFile, resolveOptions} from '../config/option-sources.ts'
import {configFileKeys, syncOptionSpecs} from '../config/option-specs.ts'
import {pipelineOptionsOf, type PipelineOptions} from '../config/pipeline-options.ts'

export interface SyncOptions extends PipelineOptions {
  resubmitAfterMs: number
  wait: boolean
  waitTimeoutMs: number
  timeoutMs: number | undefined
  dryRun: boolean
}

export function resolveSyncOptions(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, configFlag: string | undefined): SyncOptions {
  const location = configFilePath(configFlag, env)
  const o = resolveOptions(syncOptionSpecs, flags, env, readConfigFile(location), location ? `config file ${location.path}` : 'config file', configFileKeys)
  const dryRun = o['dry-run'] === true
  return {
    ...pipelineOptionsOf(o, env, !dryRun),
    resubmitAfterMs: (o['resubmit-after'] as number | undefined) ?? defaults.resubmitAfterMs,
    wait: o.wait === true,
    waitTimeoutMs: (o['wait-timeout'] as number | undefined) ?? defaults.waitTimeoutMs,
    timeoutMs: o.timeout as number | undefined,
    dryRun,
  }
}

// The options of `sync`, resolved from flags, environment and config file into one typed object.
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {ConfigError, UsageError} from '../errors.ts'
import {configFilePath, readConfigFile, resolveOptions, type OptionValue} from '../config/option-sources.ts'
import {configFileKeys, syncOptionSpecs} from '../config/option-specs.ts'
import type {PodScope} from '../kube/pod-scope.ts'
import type {TargetSelection} from '../kube/target.ts'

export const defaultSnykApi = 'https://api.snyk.io'


export interface SyncOptions {
  kubeconfigs: string[]
  targets: TargetSelection
  scope: PodScope
  org: string | undefined
  /** Never printed, logged or stored. */
  token: string | undefined
  api: string
  integrations: string[]
  concurrency: number
  /** Snyk requests per minute for this token. */
  ratePerMinute: number
  maxRetries: number
  resubmitAfterMs: number
  wait: boolean
  waitTimeoutMs: number
  timeoutMs: number | undefined
  statePath: string | undefined
  dryRun: boolean
  homeDir: string
}

export function readToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (tokenFile) {
    let token: string
    try {
      token = readFileSync(tokenFile, 'utf8').trim()
    } catch (error) {
      throw new ConfigError(`cannot read the Snyk token file ${tokenFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, {code: 'TOKEN_FILE', suggestions: ['pass a readable file with --token-file, or set SNYK_TOKEN'], cause: error})
    }
    if (!token) throw new ConfigError(`the Snyk token file ${tokenFile} is empty`, {code: 'TOKEN_FILE', suggestions: ['write the API token into the file']})
    return token
  }
  return env.SNYK_TOKEN?.trim() || undefined
}

/** What `sync` and `watch` share: targets, scope, Snyk and submission settings. */
export type PipelineOptions = Omit<SyncOptions, 'resubmitAfterMs' | 'wait' | 'waitTimeoutMs' | 'timeoutMs' | 'dryRun'>

/** Builds the shared options from resolved option values; `needsSnyk` false (--dry-run) skips the token and org. */
export function pipelineOptionsOf(o: Record<string, OptionValue | undefined>, env: NodeJS.ProcessEnv, needsSnyk: boolean): PipelineOptions {
  const namespaces = (o.namespace as string[] | undefined) ?? []
  if (namespaces.length > 0 && o['all-namespaces'] === true) {
    throw new UsageError('--namespace and --all-namespaces cannot be used together', {code: 'USAGE', suggestions: ['pass -n NAMESPACE (repeatable) or -A']})
  }
  const token = needsSnyk ? readToken(o['token-file'] as string | undefined, env) : undefined
  const org = o.org as string | undefined
  if (needsSnyk && !token) {
    throw new UsageError('no Snyk API token: set SNYK_TOKEN or pass --token-file PATH', {code: 'NO_TOKEN', suggestions: ['export SNYK_TOKEN=<your API token> (Snyk: Account settings > API token)', 'or try `sync --dry-run` to see the inventory without Snyk']})
  }
  if (needsSnyk && !org) {
    throw new UsageError('no Snyk organization: pass --org ORG_ID (or set SNYK_WATCH_ORG)', {code: 'NO_ORG', suggestions: ['find the org id in Snyk under Settings > General']})
  }
  const api = ((o.api as string | undefined) ?? defaultSnykApi).replace(/\/+$/, '')
  if (!/^https?:\/\/[^/]+/.test(api)) throw new UsageError(`--api must be a URL like ${defaultSnykApi}, got ${api}`, {code: 'INVALID_OPTION', suggestions: ['regional hosts: https://api.us.snyk.io, https://api.eu.snyk.io, https://api.au.snyk.io']})
  return {
    kubeconfigs: (o.kubeconfig as string[] | undefined) ?? [],
    targets: {contexts: (o.context as string[] | undefined) ?? [], allContexts: o['all-contexts'] === true},
    scope: {
      namespaces,
      excludeNamespaces: (o['exclude-namespace'] as string[] | undefined) ?? [],
      ...(o.selector ? {labelSelector: o.selector as string} : {}),
      skipJobPods: o['skip-job-pods'] === true,
    },
    org,
    token,
    api,
    integrations: (o.integration as string[] | undefined) ?? [],
    concurrency: (o.concurrency as number | undefined) ?? 5,
    ratePerMinute: (o.rate as number | undefined) ?? 600,
    maxRetries: (o['max-retries'] as number | undefined) ?? 5,
    statePath: o.state as string | undefined,
    homeDir: env.HOME || homedir(),
  }
}

export function resolveSyncOptions(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, configFlag: string | undefined): SyncOptions {
  const location = configFilePath(configFlag, env)
  const o = resolveOptions(syncOptionSpecs, flags, env, readConfigFile(location), location ? `config file ${location.path}` : 'config file', configFileKeys)
  const dryRun = o['dry-run'] === true
  return {
    ...pipelineOptionsOf(o, env, !dryRun),
    resubmitAfterMs: (o['resubmit-after'] as number | undefined) ?? 24 * 3600_000,
    wait: o.wait === true,
    waitTimeoutMs: (o['wait-timeout'] as number | undefined) ?? 10 * 60_000,
    timeoutMs: o.timeout as number | undefined,
    dryRun,
  }
}

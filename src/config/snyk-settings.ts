// The Snyk settings the three commands share (token, org, API URL, integrations, rate, concurrency, retries),
// read from the resolved option values with their defaults (./defaults.ts).
import {readFileSync} from 'node:fs'
import {ConfigError, UsageError} from '../errors.ts'
import {defaults, DEFAULT_SNYK_API} from './defaults.ts'
import type {OptionValue} from './option-sources.ts'

export interface SnykSettings {
  org: string | undefined
  /** Never printed, logged or stored. */
  token: string | undefined
  api: string
  /** --integration values as given (`registry=id` or an id); parsed by images/integration-map.ts. */
  integrations: string[]
  concurrency: number
  /** Snyk requests per minute for this token. */
  ratePerMinute: number
  maxRetries: number
}

/** Whether the command talks to Snyk, and if only some of its flags do, which one (for the error). */
export type SnykNeed = {needed: false} | {needed: true; by?: string}

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

function noToken(by: string | undefined): UsageError {
  if (by) return new UsageError(`${by} reads from Snyk and needs an API token: set SNYK_TOKEN or pass --token-file PATH`, {code: 'NO_TOKEN', suggestions: ['export SNYK_TOKEN=<your API token>', 'or leave out --refresh and --sbom: status works offline from the state store']})
  return new UsageError('no Snyk API token: set SNYK_TOKEN or pass --token-file PATH', {code: 'NO_TOKEN', suggestions: ['export SNYK_TOKEN=<your API token> (Snyk: Account settings > API token)', 'or try `sync --dry-run` to see the inventory without Snyk']})
}

function noOrg(by: string | undefined): UsageError {
  const message = by ? `${by} needs the Snyk organization: pass --org ORG_ID (or set SNYK_WATCH_ORG)` : 'no Snyk organization: pass --org ORG_ID (or set SNYK_WATCH_ORG)'
  return new UsageError(message, {code: 'NO_ORG', suggestions: ['find the org id in Snyk under Settings > General']})
}

/** The Snyk settings from resolved option values; the token and org are read and required only when `need` says so. */
export function snykSettingsOf(o: Record<string, OptionValue | undefined>, env: NodeJS.ProcessEnv, need: SnykNeed): SnykSettings {
  const token = need.needed ? readToken(o['token-file'] as string | undefined, env) : undefined
  const org = o.org as string | undefined
  if (need.needed && !token) throw noToken(need.by)
  if (need.needed && !org) throw noOrg(need.by)
  const api = ((o.api as string | undefined) ?? DEFAULT_SNYK_API).replace(/\/+$/, '')
  if (!/^https?:\/\/[^/]+/.test(api)) throw new UsageError(`--api must be a URL like ${DEFAULT_SNYK_API}, got ${api}`, {code: 'INVALID_OPTION', suggestions: ['regional hosts: https://api.us.snyk.io, https://api.eu.snyk.io, https://api.au.snyk.io']})
  return {
    org,
    token,
    api,
    integrations: (o.integration as string[] | undefined) ?? [],
    concurrency: (o.concurrency as number | undefined) ?? defaults.concurrency,
    ratePerMinute: (o.rate as number | undefined) ?? defaults.ratePerMinute,
    maxRetries: (o['max-retries'] as number | undefined) ?? defaults.maxRetries,
  }
}

// The options of `status`, resolved from flags, environment (SNYK_WATCH_<FLAG>) and config file into one typed object.
import {defaults} from '../config/defaults.ts'
import {configFilePath, oneOf, readConfigFile, resolveOptions} from '../config/option-sources.ts'
import {configFileKeys, statusOptionSpecs} from '../config/option-specs.ts'
import {snykSettingsOf} from '../config/snyk-settings.ts'
import {UsageError} from '../errors.ts'
import {severities, statusImageResults, statusViews, type Severity, type StatusImageResult, type StatusView} from './status-result.ts'

export type StatusOutput = 'table' | 'wide' | 'json' | 'yaml'

export interface StatusFilters {
  /** Context (cluster) names. */
  contexts: string[]
  namespaces: string[]
  /** Globs on the image name (`*` matches anything, `/` included). */
  images: string[]
  results: StatusImageResult[]
  /** --fips: only FIPS images; --no-fips: only the others; undefined: both. */
  fips?: boolean
  /** --all: also images not running anywhere now (history); ignored with --context or --namespace. */
  all?: boolean
}

export interface StatusOptions {
  statePath: string | undefined
  view: StatusView
  output: StatusOutput
  filters: StatusFilters
  failOn: Severity | undefined
  refresh: boolean
  /** Directory to write one CycloneDX document per monitored project into. */
  sbomDir: string | undefined
  org: string | undefined
  /** Never printed, logged or stored. */
  token: string | undefined
  api: string
  concurrency: number
  ratePerMinute: number
  maxRetries: number
  timeoutMs: number | undefined
  /** `--watch`: redraw as the store changes, until Ctrl+C. */
  watch: boolean
  /** How often --watch looks for changes in the store. */
  intervalMs: number
}

/** What a live view cannot do: each of these ends in an exit code or writes files once. */
const oneShotOptions = [
  {name: 'fail-on', why: 'is a CI gate that decides the exit code of one run'},
  {name: 'refresh', why: 'reads from Snyk once; run status --refresh first, then status --watch'},
  {name: 'sbom', why: 'writes files once'},
] as const

export function resolveStatusOptions(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, configFlag: string | undefined): StatusOptions {
  const location = configFilePath(configFlag, env)
  const o = resolveOptions(statusOptionSpecs, flags, env, readConfigFile(location), location ? `config file ${location.path}` : 'config file', configFileKeys)
  const watch = o.watch === true
  if (watch) {
    // On the command line they are a mistake; from the environment or a config file (shared with CI) they are left out.
    for (const {name, why} of oneShotOptions) {
      const given = flags[name]
      if (given !== undefined && given !== false) throw new UsageError(`--watch cannot be used with --${name}: --${name} ${why}`, {code: 'USAGE', suggestions: [`leave out --${name} to watch`, `or leave out --watch to run status once with --${name}`]})
      delete o[name]
    }
  }
  const results = ((o.result as string[] | undefined) ?? []).map((value) => oneOf('result', value, statusImageResults)!)
  const refresh = o.refresh === true
  const sbomDir = o.sbom as string | undefined
  const needsSnyk = refresh || sbomDir !== undefined
  const {org, token, api, concurrency, ratePerMinute, maxRetries} = snykSettingsOf(o, env, needsSnyk ? {needed: true, by: refresh ? '--refresh' : '--sbom'} : {needed: false})
  return {
    statePath: o.state as string | undefined,
    view: oneOf('by', o.by as string | undefined, statusViews) ?? 'image',
    output: oneOf<StatusOutput>('output', o.output as string | undefined, ['table', 'wide', 'json', 'yaml']) ?? 'table',
    filters: {
      contexts: (o.context as string[] | undefined) ?? [],
      namespaces: (o.namespace as string[] | undefined) ?? [],
      images: (o.image as string[] | undefined) ?? [],
      results,
      ...(o.fips === undefined ? {} : {fips: o.fips === true}),
      ...(o.all === true ? {all: true} : {}),
    },
    failOn: oneOf('fail-on', o['fail-on'] as string | undefined, severities),
    refresh,
    sbomDir,
    org,
    token,
    api,
    concurrency,
    ratePerMinute,
    maxRetries,
    timeoutMs: o.timeout as number | undefined,
    watch,
    intervalMs: (o.interval as number | undefined) ?? defaults.statusIntervalMs,
  }
}

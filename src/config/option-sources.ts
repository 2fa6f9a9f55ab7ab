// Every flag can also come from an environment variable and a config file, so that a CronJob needs no
// arguments. Precedence: command line, then environment, then config file, then the built-in default.
// `--namespace` is read from SNYK_WATCH_NAMESPACE and from `namespace:` in the config file; list values
// are comma-separated in the environment and YAML lists in the file.
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {homedir} from 'node:os'
import path from 'node:path'
import parseDuration from 'parse-duration'
import {ConfigError, UsageError} from '../errors.ts'

/** The YAML parser, loaded only when there is a config file to read: most runs have none, and start faster. */
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text)

export type OptionKind = 'string' | 'strings' | 'boolean' | 'integer' | 'duration'

export interface OptionSpec {
  /** The long flag name, kebab-case. */
  name: string
  kind: OptionKind
  /** Lowest and highest allowed value for integers and durations (ms). */
  min?: number
  max?: number
}

export type OptionValue = string | string[] | boolean | number

export function envName(option: string): string {
  return `SNYK_WATCH_${option.toUpperCase().replaceAll('-', '_')}`
}

/** The config file: --config, then SNYK_WATCH_CONFIG, then $XDG_CONFIG_HOME/kubectl-snyk-watch/config.yaml if it exists. */
export function configFilePath(explicit: string | undefined, env: NodeJS.ProcessEnv): {path: string; required: boolean} | undefined {
  const named = explicit ?? env.SNYK_WATCH_CONFIG
  if (named) return {path: named, required: true}
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), '.config')
  const fallback = path.join(base, 'kubectl-snyk-watch', 'config.yaml')
  return existsSync(fallback) ? {path: fallback, required: false} : undefined
}

export function readConfigFile(location: {path: string; required: boolean} | undefined): Record<string, unknown> {
  if (!location) return {}
  if (!existsSync(location.path)) {
    throw new ConfigError(`config file ${location.path} does not exist`, {code: 'CONFIG_MISSING', suggestions: ['pass the path of an existing YAML file with --config']})
  }
  let document: unknown
  try {
    document = parseYaml(readFileSync(location.path, 'utf8'))
  } catch (error) {
    throw new ConfigError(`config file ${location.path} is not valid YAML: ${(error as Error).message}`, {code: 'CONFIG_INVALID', suggestions: ['fix the YAML syntax'], cause: error})
  }
  if (document === null || document === undefined) return {}
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(`config file ${location.path} must be a mapping of flag names to values`, {code: 'CONFIG_INVALID', suggestions: ['write it as `org: <id>` lines, one flag per line']})
  }
  return document as Record<string, unknown>
}

function invalid(option: string, origin: string, expected: string, value: unknown): UsageError {
  return new UsageError(`${origin} for --${option} must be ${expected}, got ${JSON.stringify(value)}`, {code: 'INVALID_OPTION', suggestions: [`see kubectl snyk-watch --help for --${option}`]})
}

export function parseDurationMs(text: string): number | undefined {
  if (!/[a-z]/i.test(text)) return undefined
  const value = parseDuration(text)
  return value === null || value === undefined || Number.isNaN(value) ? undefined : value
}

function convert(spec: OptionSpec, raw: unknown, origin: string): OptionValue {
  switch (spec.kind) {
    case 'string':
      if (typeof raw === 'string' || typeof raw === 'number') return String(raw)
      throw invalid(spec.name, origin, 'a string', raw)
    case 'strings': {
      const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [raw]
      return list.map((item) => {
        if (typeof item !== 'string' && typeof item !== 'number') throw invalid(spec.name, origin, 'a list of strings', raw)
        return String(item).trim()
      }).filter((item) => item !== '')
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw
      if (typeof raw === 'string' && /^(true|1|yes)$/i.test(raw)) return true
      if (typeof raw === 'string' && /^(false|0|no)$/i.test(raw)) return false
      throw invalid(spec.name, origin, 'true or false', raw)
    case 'integer': {
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN
      if (!Number.isInteger(value)) throw invalid(spec.name, origin, 'a whole number', raw)
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) throw invalid(spec.name, origin, `between ${spec.min} and ${spec.max}`, raw)
      return value
    }
    case 'duration': {
      const value = typeof raw === 'string' ? parseDurationMs(raw) : undefined
      if (value === undefined) throw invalid(spec.name, origin, 'a duration with a unit, like 90s, 10m, 24h or 7d', raw)
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) throw invalid(spec.name, origin, 'a duration in the allowed range', raw)
      return value
    }
  }
}

/**
 * Resolves each option from the parsed flags (undefined when not given), the environment and the config file.
 * Unknown keys in the config file are a usage error, so typos do not go unnoticed.
 */
export function resolveOptions(
  specs: OptionSpec[],
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  file: Record<string, unknown>,
  fileLabel = 'config file',
  /** Keys any command knows: a shared config file may hold options of other commands. */
  fileKeys: ReadonlySet<string> = new Set(specs.map((spec) => spec.name)),
): Record<string, OptionValue | undefined> {
  const known = fileKeys
  const unknown = Object.keys(file).filter((key) => !known.has(key))
  if (unknown.length > 0) {
    throw new UsageError(`${fileLabel} has unknown keys: ${unknown.join(', ')}`, {code: 'CONFIG_UNKNOWN_KEY', suggestions: [`known keys: ${[...known].sort().join(', ')}`]})
  }
  const result: Record<string, OptionValue | undefined> = {}
  for (const spec of specs) {
    const fromFlag = flags[spec.name]
    const fromEnv = env[envName(spec.name)]
    if (fromFlag !== undefined && !(Array.isArray(fromFlag) && fromFlag.length === 0)) result[spec.name] = convert(spec, fromFlag, 'the flag')
    else if (fromEnv !== undefined && fromEnv !== '') result[spec.name] = convert(spec, fromEnv, envName(spec.name))
    else if (file[spec.name] !== undefined && file[spec.name] !== null) result[spec.name] = convert(spec, file[spec.name], `${fileLabel} key ${spec.name}`)
  }
  return result
}

/** A value that must be one of `allowed` (undefined when not given). @throws UsageError naming the choices. */
export function oneOf<T extends string>(option: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${option} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, {code: 'INVALID_OPTION', suggestions: [`--${option} ${allowed[0]}`]})
  return value as T
}

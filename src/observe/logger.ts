// The logger of `watch`: pino, writing JSON lines for log pipelines (not a TTY, or --log-format json) or
// human lines on a terminal (`12:04:05 info  submitted image=nginx:1.27 target=prod`), never a credential.
//
// Every line goes through one destination that redacts it before writing:
// - pino's `redact` censors well-known secret keys (token, authorization, password, ...);
// - every key that looks like a secret, at any depth, is censored too, and every string value (the
//   message, error messages and stacks, nested fields) goes through `redactSecrets`, which removes tokens
//   quoted in free text (`Authorization: token ...`, `snyk_uat.…`, JWTs, credentials in URLs).
// Lines are written with one synchronous `stream.write` per log call and no buffering or worker thread, so
// nothing logged before the process exits is lost (process.stderr writes synchronously to files, TTYs and
// pipes on Linux and macOS).
import {pino, stdTimeFunctions, type DestinationStream, type Logger} from 'pino'
import {redactSecrets} from '../state/redact-secrets.ts'

export type {Logger}
export type LogFormat = 'json' | 'text' | 'auto'
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface LoggerOptions {
  /** `auto`: text on a TTY, JSON otherwise. */
  format: LogFormat
  /** Default `info`. */
  level?: LogLevel | undefined
  /** Usually process.stderr (stdout is for data). */
  stream: NodeJS.WritableStream & {isTTY?: boolean}
}

const CENSOR = '[redacted]'

/** Keys whose value is censored whatever it is, at the top level and one level down (pino `redact`). */
const secretKeys = ['token', 'snykToken', 'apiToken', 'accessToken', 'authorization', 'Authorization', 'password', 'secret', 'apiKey', 'api_key']
const redactPaths = [...secretKeys, ...secretKeys.map((key) => `*.${key}`), 'headers.authorization', '*.headers.authorization', 'req.headers.authorization']

/** Keys that name a secret at any depth: `token`, `snykToken`, `authorization`, `client_secret`, `apiKey`, ... */
const secretKey = /(?:token|authorization|password|passwd|secret|api[-_]?key)$/i

/** Keys of a JSON line that the text format shows in its own way (time, level, message) or not at all. */
const textOmitted = new Set(['time', 'level', 'msg', 'pid', 'hostname'])

export function createLogger(options: LoggerOptions): Logger {
  const format = options.format === 'auto' ? (options.stream.isTTY ? 'text' : 'json') : options.format
  const destination = redactingDestination(options.stream, format)
  return pino(
    {
      level: options.level ?? 'info',
      timestamp: stdTimeFunctions.isoTime,
      formatters: {level: (label) => ({level: label})},
      redact: {paths: redactPaths, censor: CENSOR},
    },
    destination,
  )
}

/** A logger that writes nothing, for callers that take an optional logger. */
export function createSilentLogger(): Logger {
  return pino({enabled: false})
}

function redactingDestination(stream: NodeJS.WritableStream, format: 'json' | 'text'): DestinationStream {
  return {
    write(line: string): void {
      let record: Record<string, unknown>
      try {
        record = redactValue(JSON.parse(line), undefined) as Record<string, unknown>
      } catch {
        // pino always writes JSON; should it not, write the text redacted rather than lose it.
        stream.write(redactSecrets(line))
        return
      }
      stream.write(format === 'json' ? `${JSON.stringify(record)}\n` : `${textLine(record)}\n`)
    },
  }
}

function redactValue(value: unknown, key: string | undefined): unknown {
  if (key !== undefined && secretKey.test(key) && value !== null && value !== undefined && typeof value !== 'boolean') return CENSOR
  if (typeof value === 'string') return redactSecrets(value)
  if (Array.isArray(value)) return value.map((item) => redactValue(item, undefined))
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {}
    for (const [name, item] of Object.entries(value)) result[name] = redactValue(item, name)
    return result
  }
  return value
}

/** `HH:MM:SS level message key=value ...` in local time. */
export function textLine(record: Record<string, unknown>): string {
  const time = typeof record.time === 'string' || typeof record.time === 'number' ? new Date(record.time) : new Date()
  const clock = [time.getHours(), time.getMinutes(), time.getSeconds()].map((part) => String(part).padStart(2, '0')).join(':')
  const level = String(record.level ?? 'info').padEnd(5)
  const parts = [clock, level]
  if (typeof record.msg === 'string' && record.msg !== '') parts.push(record.msg)
  for (const [key, value] of Object.entries(record)) {
    if (textOmitted.has(key) || value === undefined) continue
    parts.push(`${key}=${textValue(key, value)}`)
  }
  return parts.join(' ')
}

function textValue(key: string, value: unknown): string {
  // pino's error serializer: {type, message, stack, ...}. People want the message; JSON lines keep the stack.
  if (key === 'err' && value !== null && typeof value === 'object' && typeof (value as {message?: unknown}).message === 'string') {
    return quoted((value as {message: string}).message)
  }
  if (typeof value === 'string') return quoted(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  return JSON.stringify(value)
}

function quoted(text: string): string {
  return text !== '' && /^[^\s"'=\\]+$/.test(text) ? text : JSON.stringify(text)
}

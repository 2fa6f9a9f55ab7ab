// The one tree of typed errors. Each carries a code, a message a user can act on, suggestions and the
// exit code the process ends with. Only bin/run.js (through oclif) ends the process.

/** Exit codes, documented in README.md and --help. */
export const ExitCode = {
  ok: 0,
  gateTripped: 1,
  usage: 2,
  partialFailure: 3,
  interrupted: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export interface SnykWatchErrorOptions {
  code: string
  exitCode?: ExitCode
  suggestions?: string[]
  cause?: unknown
}

/** A problem the user can fix: bad flags, configuration, credentials. oclif prints it without a stack trace. */
export class SnykWatchError extends Error {
  readonly code: string
  readonly exitCode: ExitCode
  readonly suggestions: string[]
  /** oclif reads `oclif.exit` to choose the exit code. */
  readonly oclif: {exit: number}

  constructor(message: string, options: SnykWatchErrorOptions) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'SnykWatchError'
    this.code = options.code
    this.exitCode = options.exitCode ?? ExitCode.usage
    this.suggestions = options.suggestions ?? []
    this.oclif = {exit: this.exitCode}
  }
}

/** Flags or arguments that do not make sense. */
export class UsageError extends SnykWatchError {
  constructor(message: string, options: Omit<SnykWatchErrorOptions, 'exitCode'> & {code?: string} = {code: 'USAGE'}) {
    super(message, {...options, code: options.code ?? 'USAGE', exitCode: ExitCode.usage})
    this.name = 'UsageError'
  }
}

/** Configuration that cannot be used: kubeconfig, config file, state store. */
export class ConfigError extends SnykWatchError {
  constructor(message: string, options: Omit<SnykWatchErrorOptions, 'exitCode'>) {
    super(message, {...options, exitCode: ExitCode.usage})
    this.name = 'ConfigError'
  }
}

/** Snyk refused the token (401) or the org (403). */
export class AuthError extends SnykWatchError {
  constructor(message: string, options: Omit<SnykWatchErrorOptions, 'exitCode'>) {
    super(message, {...options, exitCode: ExitCode.usage})
    this.name = 'AuthError'
  }
}

/** A bug of ours: never the user's fault. */
export class BugError extends Error {
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'BugError'
  }
}

/** The message of anything thrown, for logs and reports. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

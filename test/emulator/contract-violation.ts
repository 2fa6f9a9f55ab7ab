/** A request or response that does not follow Snyk's documents (or a documented rule they do not encode). */
export interface ContractViolation {
  /** `request`: the client's fault; `response`: the emulator's own bug. */
  readonly direction: 'request' | 'response'
  readonly method: string
  readonly path: string
  readonly operationId?: string
  readonly messages: readonly string[]
  readonly at: number
}

export function describeViolations(violations: readonly ContractViolation[]): string {
  const lines = violations.map((violation) => {
    const operation = violation.operationId ? ` (${violation.operationId})` : ''
    const messages = violation.messages.map((message) => `    - ${message}`).join('\n')
    return `  ${violation.direction} ${violation.method} ${violation.path}${operation}:\n${messages}`
  })
  return `${violations.length} Snyk contract violation(s):\n${lines.join('\n')}`
}

/**
 * Faults a test scripts into the emulator: which requests they hit and what happens to them.
 *
 *     emulator.faults.push({when: {operationId: 'Importtargets', times: 2}, fault: {kind: 'status', status: 503}})
 *
 * Every rule counts the requests it matches; it lets the first `after` of them through, then applies its fault
 * to the next `times` (default 1, `Infinity` for always). The first rule ready to fire wins. Faulted responses
 * are deliberate: they are logged but never reported as contract violations.
 */

export type Fault =
  /** Answer this status (with an API-style error body unless `body` is given). */
  | {readonly kind: 'status'; readonly status: 500 | 502 | 503 | 504; readonly body?: string | object}
  /** Destroy the connection (TCP reset) without answering. */
  | {readonly kind: 'reset'}
  /** Never answer, until the emulator closes. */
  | {readonly kind: 'hang'}
  /** Answer correctly, after `delayMs`. */
  | {readonly kind: 'slow'; readonly delayMs: number}
  /** 200 with a body that is not JSON. */
  | {readonly kind: 'malformed'}
  /** Announce a longer body than is sent, then destroy the connection. */
  | {readonly kind: 'truncated'}
  /** 429 with an API-style error body; `Retry-After` only when `retryAfterSeconds` is given. */
  | {readonly kind: '429'; readonly retryAfterSeconds?: number}

export type FaultKind = Fault['kind']

export interface FaultMatcher {
  /** HTTP method, any case. */
  readonly method?: string
  /** Exact URL path (e.g. `/v1/org/.../import`) or a RegExp tested against it. */
  readonly path?: string | RegExp
  /** Operation id in Snyk's documents, e.g. `Importtargets`, `Getimportjobdetails`, `listOrgProjects`. */
  readonly operationId?: string
  /** How many requests get the fault (default 1). */
  readonly times?: number
  /** How many matching requests pass untouched before the fault starts (default 0). */
  readonly after?: number
}

export interface FaultRule {
  readonly when?: FaultMatcher
  readonly fault: Fault
}

export interface FaultTarget {
  readonly method: string
  readonly path: string
  readonly operationId?: string | undefined
}

interface ArmedRule {
  readonly rule: FaultRule
  seen: number
  applied: number
}

export class FaultPlan {
  readonly #rules: ArmedRule[] = []

  push(...rules: FaultRule[]): void {
    for (const rule of rules) {
      const {times = 1, after = 0} = rule.when ?? {}
      if (!(times >= 0) || !(after >= 0)) throw new RangeError('fault rule: times and after must be >= 0')
      if (rule.fault.kind === 'slow' && !(rule.fault.delayMs >= 0)) throw new RangeError('slow fault: delayMs must be >= 0')
      this.#rules.push({rule, seen: 0, applied: 0})
    }
  }

  /** The fault for this request, if any (consumes one use of the rule that fires). */
  take(target: FaultTarget): Fault | undefined {
    let chosen: ArmedRule | undefined
    for (const armed of this.#rules) {
      if (!matches(armed.rule.when, target)) continue
      armed.seen += 1
      const {times = 1, after = 0} = armed.rule.when ?? {}
      if (!chosen && armed.seen > after && armed.applied < times) chosen = armed
    }
    if (!chosen) return undefined
    chosen.applied += 1
    return chosen.rule.fault
  }

  /** Rules that can still fire. */
  get pending(): number {
    return this.#rules.filter(({rule, applied}) => applied < (rule.when?.times ?? 1)).length
  }

  clear(): void {
    this.#rules.length = 0
  }
}

function matches(when: FaultMatcher | undefined, target: FaultTarget): boolean {
  if (!when) return true
  if (when.method !== undefined && when.method.toUpperCase() !== target.method.toUpperCase()) return false
  if (when.operationId !== undefined && when.operationId !== target.operationId) return false
  if (typeof when.path === 'string' && when.path !== target.path) return false
  if (when.path instanceof RegExp) {
    when.path.lastIndex = 0
    if (!when.path.test(target.path)) return false
  }
  return true
}

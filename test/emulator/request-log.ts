import type {ApiName} from './contract-validator.ts'
import type {FaultKind} from './fault-plan.ts'

/** One request as the emulator saw it. The token is never recorded. */
export interface LoggedRequest {
  readonly method: string
  readonly path: string
  /** Query parameters; a repeated parameter is an array. */
  readonly query: Readonly<Record<string, string | string[]>>
  /** Parsed JSON body, or the raw text when it is not JSON; `undefined` when empty. */
  readonly body: unknown
  /** `Date.now()` when the request arrived. */
  readonly at: number
  readonly api?: ApiName
  /** Operation id in Snyk's documents, when the request matched one. */
  readonly operationId?: string
  /** Status sent; 0 while unanswered or when no status was sent (reset, hang). */
  status: number
  /** `Date.now()` when the answer was handed to the connection. */
  answeredAt?: number
  /** True when the client had closed the connection before the answer was sent (it never saw it). */
  clientGone?: boolean
  /** The injected fault, if one hit this request. */
  fault?: FaultKind
}

export function queryRecord(params: URLSearchParams): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {}
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key)
    record[key] = values.length === 1 ? (values[0] as string) : values
  }
  return record
}

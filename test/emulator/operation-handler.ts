import type {EmulatorResponse, ErrorSource} from './api-responses.ts'
import type {ResolvedVersion} from './api-version.ts'
import type {ContractValidator} from './contract-validator.ts'
import type {LinkStyle} from './pagination.ts'
import type {Org, SnykWorld} from './snyk-world.ts'

/** What a handler of one documented operation gets, once auth, rate limit, contract and org access passed. */
export interface OperationContext {
  readonly world: SnykWorld
  readonly validator: ContractValidator
  /** `http://127.0.0.1:PORT` */
  readonly origin: string
  readonly org: Org
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly body: unknown
  /** REST: the path below `/rest`, e.g. `/orgs/{id}/projects`. */
  readonly restPath: string
  readonly linkStyle: LinkStyle
  /** REST: the API version resolved from `version`. */
  readonly version: ResolvedVersion | undefined
  /** Records a request violation of a documented rule and returns the 400 Snyk would send. */
  reject(problems: ReadonlyArray<string | {detail: string; source: ErrorSource}>): EmulatorResponse
}

export type OperationHandler = (context: OperationContext) => EmulatorResponse

/** A query parameter that may be repeated or comma-separated (`style: form`, `explode: false`). */
export function listParam(query: URLSearchParams, name: string): string[] {
  return query.getAll(name).flatMap((value) => value.split(',')).filter((value) => value !== '')
}

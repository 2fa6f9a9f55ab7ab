// A Snyk project as the REST API lists it, with the latest issue counts (`meta.latest_issue_counts=true`).

export interface IssueCounts {
  readonly critical: number
  readonly high: number
  readonly medium: number
  readonly low: number
  /** When Snyk last counted (ISO 8601), when it says. */
  readonly updatedAt: string | undefined
}

export interface SnykProject {
  readonly id: string
  /** For container projects, the imported target name (`library/nginx:1.27`). */
  readonly name: string
  /** Package manager: `deb`, `apk`, `rpm`, ... */
  readonly type: string
  /** Integration type that created it: `docker-hub`, `ecr`, ... */
  readonly origin: string | undefined
  readonly targetReference: string | undefined
  readonly created: string | undefined
  readonly status: string | undefined
  readonly issueCounts: IssueCounts | undefined
}

/** A REST JSON:API project resource; undefined when it is not one. */
export function parseProject(resource: unknown): SnykProject | undefined {
  if (!isObject(resource) || typeof resource['id'] !== 'string') return undefined
  const attributes = isObject(resource['attributes']) ? resource['attributes'] : {}
  const meta = isObject(resource['meta']) ? resource['meta'] : {}
  return {
    id: resource['id'],
    name: stringOr(attributes['name']) ?? '',
    type: stringOr(attributes['type']) ?? '',
    origin: stringOr(attributes['origin']),
    targetReference: stringOr(attributes['target_reference']),
    created: stringOr(attributes['created']),
    status: stringOr(attributes['status']),
    issueCounts: parseIssueCounts(meta['latest_issue_counts']),
  }
}

function parseIssueCounts(value: unknown): IssueCounts | undefined {
  if (!isObject(value)) return undefined
  const count = (key: string): number => (typeof value[key] === 'number' ? value[key] : 0)
  return {critical: count('critical'), high: count('high'), medium: count('medium'), low: count('low'), updatedAt: stringOr(value['updated_at'])}
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

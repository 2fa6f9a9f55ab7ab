/**
 * Cursor pagination of REST collections, in Snyk's style: opaque cursors (`v1.<base64 JSON>`), `limit`,
 * `starting_after` / `ending_before`, and `links.self|first|next|prev` carrying every other query parameter.
 *
 * Snyk's links are paths relative to the REST base URL (`/orgs/{org_id}/projects?...`, without `/rest`), as
 * the document's own `self` examples show; clients must resolve them against `https://api.snyk.io/rest`.
 * `linkStyle` can switch the emulator to `/rest/orgs/...` or absolute URLs so clients can be tested on all
 * three forms (Snyk has served each at some point).
 */

export type LinkStyle = 'relative' | 'rest-relative' | 'absolute'

export interface PageRequest {
  readonly limit: number
  readonly startingAfter?: string | undefined
  readonly endingBefore?: string | undefined
}

export interface Page<T> {
  readonly items: T[]
  readonly hasPrevious: boolean
  readonly hasNext: boolean
}

export function encodeCursor(ordinal: number): string {
  return `v1.${Buffer.from(JSON.stringify({id: String(ordinal)})).toString('base64')}`
}

export function decodeCursor(cursor: string): number | undefined {
  if (!cursor.startsWith('v1.')) return undefined
  try {
    const parsed = JSON.parse(Buffer.from(cursor.slice(3), 'base64').toString('utf8')) as {id?: unknown}
    const ordinal = typeof parsed.id === 'string' ? Number(parsed.id) : NaN
    return Number.isSafeInteger(ordinal) ? ordinal : undefined
  } catch {
    return undefined
  }
}

/** One page of `items` (already filtered, in ascending ordinal order), or the name of a bad cursor parameter. */
export function paginate<T>(items: readonly T[], ordinalOf: (item: T) => number, request: PageRequest): Page<T> | {badCursor: string} {
  const after = request.startingAfter === undefined ? -Infinity : decodeCursor(request.startingAfter)
  if (after === undefined) return {badCursor: 'starting_after'}
  const before = request.endingBefore === undefined ? Infinity : decodeCursor(request.endingBefore)
  if (before === undefined) return {badCursor: 'ending_before'}
  const window = items.filter((item) => ordinalOf(item) > after && ordinalOf(item) < before)
  const fromEnd = request.endingBefore !== undefined && request.startingAfter === undefined
  const pageItems = fromEnd ? window.slice(Math.max(0, window.length - request.limit)) : window.slice(0, request.limit)
  const first = pageItems[0]
  const last = pageItems[pageItems.length - 1]
  return {
    items: pageItems,
    hasPrevious: first !== undefined && items.some((item) => ordinalOf(item) < ordinalOf(first)),
    hasNext: last !== undefined && items.some((item) => ordinalOf(item) > ordinalOf(last)),
  }
}

export interface LinkContext {
  /** Path below the REST root, e.g. `/orgs/{org_id}/projects`. */
  readonly path: string
  readonly query: URLSearchParams
  readonly style: LinkStyle
  /** `http://127.0.0.1:PORT`, for absolute links. */
  readonly origin: string
}

export interface PageLinks {
  self: string
  first: string
  next?: string
  prev?: string
}

export function pageLinks<T>(context: LinkContext, page: Page<T>, ordinalOf: (item: T) => number): PageLinks {
  const render = (query: URLSearchParams): string => {
    const search = query.size > 0 ? `?${query.toString()}` : ''
    if (context.style === 'relative') return `${context.path}${search}`
    return `${context.style === 'absolute' ? context.origin : ''}/rest${context.path}${search}`
  }
  const withCursor = (name?: 'starting_after' | 'ending_before', item?: T): string => {
    const query = new URLSearchParams(context.query)
    query.delete('starting_after')
    query.delete('ending_before')
    if (name && item !== undefined) query.set(name, encodeCursor(ordinalOf(item)))
    return render(query)
  }
  const links: PageLinks = {self: render(context.query), first: withCursor()}
  const first = page.items[0]
  const last = page.items[page.items.length - 1]
  if (page.hasNext && last !== undefined) links.next = withCursor('starting_after', last)
  if (page.hasPrevious && first !== undefined) links.prev = withCursor('ending_before', first)
  return links
}

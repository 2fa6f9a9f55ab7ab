/**
 * REST API version resolution, as Snyk documents it: `version=YYYY-MM-DD[~beta|~experimental|~wip]` (or a
 * bare stability) selects the newest release of the endpoint dated on or before that day whose stability is
 * at least the requested one (GA > beta > experimental > wip). The document's pattern checks only the shape;
 * the emulator adds: the date must exist in the calendar, must not be in the future, and some release of the
 * endpoint must match (else 404, as Snyk answers for an endpoint not available at that version).
 */

export type Stability = 'wip' | 'experimental' | 'beta' | 'ga'

const RANK: Record<Stability, number> = {wip: 0, experimental: 1, beta: 2, ga: 3}

export interface ResolvedVersion {
  readonly requested: string
  /** The release served, e.g. `2024-05-31` or `2024-10-15~beta`. */
  readonly served: string
  readonly stage: Stability
}

export type VersionResolution =
  | {readonly ok: true; readonly version: ResolvedVersion}
  | {readonly ok: false; readonly status: 400 | 404; readonly detail: string}

interface ParsedVersion {
  readonly day: string
  readonly stability: Stability
}

function parseStability(text: string | undefined): Stability | undefined {
  if (text === undefined) return 'ga'
  if (text === 'work-in-progress') return 'wip'
  return text === 'wip' || text === 'experimental' || text === 'beta' ? text : undefined
}

function parseVersion(text: string, today: string): ParsedVersion | undefined {
  const bare = parseStability(text)
  if (bare && bare !== 'ga') return {day: today, stability: bare}
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:~([a-z-]+))?$/.exec(text)
  if (!match) return undefined
  const [, year, month, day, suffix] = match
  const stability = parseStability(suffix)
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)))
  if (!stability || date.toISOString().slice(0, 10) !== `${year}-${month}-${day}`) return undefined
  return {day: `${year}-${month}-${day}`, stability}
}

export function resolveVersion(requested: string, releases: readonly string[], now: Date = new Date()): VersionResolution {
  const today = now.toISOString().slice(0, 10)
  const wanted = parseVersion(requested, today)
  if (!wanted) return {ok: false, status: 400, detail: `version "${requested}" is not a valid date (YYYY-MM-DD, optionally ~beta or ~experimental)`}
  if (wanted.day > today) return {ok: false, status: 400, detail: `version "${requested}" is in the future`}
  let best: (ParsedVersion & {text: string}) | undefined
  for (const text of releases) {
    const release = parseVersion(text, today)
    if (!release || release.day > wanted.day || RANK[release.stability] < RANK[wanted.stability]) continue
    if (!best || release.day > best.day || (release.day === best.day && RANK[release.stability] > RANK[best.stability])) {
      best = {...release, text}
    }
  }
  if (!best) {
    return {ok: false, status: 404, detail: `this endpoint has no release matching version "${requested}" (releases: ${releases.join(', ')})`}
  }
  return {ok: true, version: {requested, served: best.text, stage: best.stability}}
}

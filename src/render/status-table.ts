// The tables of `status`: one row per image (default) or per workload, namespace or cluster, then drift,
// the gate and a summary. Tables fit the terminal width and carry no colour (see text-table.ts for why not cli-table3).
import {fipsAnnotation} from '../images/fips.ts'
import {TextTable} from './text-table.ts'
import type {StatusGroup, StatusImage, StatusResult, Vulnerabilities} from '../status/status-result.ts'

interface Column {
  head: string
  fixed?: number
  weight?: number
  /** Left out (the last optional column first) when the table would not fit the width with it. */
  optional?: boolean
}

const minimumWidth = 6

/** The width a table of `columns` needs at least: fixed widths, flexible columns at the minimum, borders. */
const minimumTableWidth = (columns: readonly Column[]): number => columns.reduce((sum, c) => sum + (c.fixed ?? minimumWidth) + 1, 1)

/** A table whose columns share the terminal width: fixed widths where given, the rest by weight. */
class FittedTable {
  readonly #table: TextTable
  /** Which of the columns asked for are shown; undefined when all are. */
  readonly #shown: boolean[] | undefined

  constructor(asked: readonly Column[], width: number) {
    const target = Math.max(40, width)
    let columns = [...asked]
    while (minimumTableWidth(columns) > target) {
      const last = columns.findLastIndex((c) => c.optional)
      if (last < 0) break
      columns = columns.filter((_, i) => i !== last)
    }
    this.#shown = columns.length === asked.length ? undefined : asked.map((c) => columns.includes(c))
    const available = target - (columns.length + 1)
    const fixed = columns.reduce((sum, c) => sum + (c.fixed ?? 0), 0)
    const flexible = Math.max(0, available - fixed)
    const weights = columns.reduce((sum, c) => sum + (c.fixed ? 0 : (c.weight ?? 1)), 0)
    const colWidths = columns.map((c) => c.fixed ?? Math.max(minimumWidth, Math.floor((flexible * (c.weight ?? 1)) / weights)))
    // Rounding up to the minimum may overflow: take it back from the widest flexible columns.
    for (let excess = colWidths.reduce((a, b) => a + b, 0) - available; excess > 0; excess--) {
      let widest = -1
      colWidths.forEach((w, i) => {
        if (!columns[i]!.fixed && w > minimumWidth && (widest < 0 || w > colWidths[widest]!)) widest = i
      })
      if (widest < 0) break
      colWidths[widest]!--
    }
    this.#table = new TextTable(columns.map((c, i) => ({head: c.head, width: colWidths[i]!})))
  }

  /** One cell per column asked for. */
  push(cells: string[]): void {
    const shown = this.#shown
    this.#table.push(shown === undefined ? cells : cells.filter((_, i) => shown[i]))
  }

  toString(): string {
    return this.#table.toString()
  }
}

export function shortDigest(digest: string | undefined): string {
  if (digest === undefined) return '-'
  return digest.replace(/^sha256:/, '').slice(0, 12)
}

function vulns(v: Vulnerabilities | undefined): string {
  return v === undefined ? '-' : `${v.critical}/${v.high}/${v.medium}/${v.low}`
}

function fips(image: StatusImage, wide: boolean): string {
  const answer = image.fips ? 'yes' : 'no'
  if (!wide || image.fipsSource === 'name') return answer
  return `${answer}\n(${image.fipsSource === 'annotation' ? 'annotation' : 'conflict'})`
}

function result(image: StatusImage): string {
  return image.reason && image.result !== 'pending' ? `${image.result}: ${image.reason}` : image.result
}

function runsIn(image: StatusImage, wide: boolean): string {
  const {clusters, namespaces, workloads} = image.runsIn
  const summary = `${clusters.join(', ')} (${namespaces.length} ns, ${workloads.length} workload${workloads.length === 1 ? '' : 's'})`
  if (!wide) return summary
  return [clusters.join(', '), ...workloads].join('\n')
}

const when = (at: string | undefined): string => (at === undefined ? '-' : `${at.slice(0, 10)} ${at.slice(11, 16)}`)

function imageTable(images: readonly StatusImage[], width: number, wide: boolean): string {
  const columns: Column[] = [
    {head: 'IMAGE', weight: 4},
    {head: 'TAG', weight: 1},
    {head: 'DIGEST', fixed: 14},
    {head: 'FIPS', fixed: wide ? 14 : 6, optional: true},
    {head: 'RUNS IN', weight: wide ? 4 : 3},
    {head: 'RESULT', weight: 3},
    {head: 'C/H/M/L', fixed: 13},
  ]
  if (wide) columns.push({head: 'LAST SUBMITTED', fixed: 18}, {head: 'SNYK PROJECT', weight: 3})
  const t = new FittedTable(columns, width)
  for (const image of images) {
    const row = [`${image.registry}/${image.repository}`, image.tag ?? '-', shortDigest(image.digest), fips(image, wide), runsIn(image, wide), result(image), vulns(image.vulnerabilities)]
    if (wide) row.push(when(image.lastSubmitted), image.projects.map((p) => p.url ?? p.id).join('\n') || '-')
    t.push(row)
  }
  return t.toString()
}

function groupResults(group: StatusGroup): string {
  return Object.entries(group.results).map(([name, count]) => `${count} ${name}`).join(', ')
}

function groupTable(groups: readonly StatusGroup[], view: StatusResult['view'], width: number, wide: boolean): string {
  const columns: Column[] = [{head: 'CLUSTER', weight: 2}]
  if (view !== 'cluster') columns.push({head: 'NAMESPACE', weight: 2})
  if (view === 'workload') columns.push({head: 'WORKLOAD', weight: 3})
  columns.push({head: 'IMAGES', weight: wide ? 5 : 1}, {head: 'FIPS', fixed: 6, optional: true}, {head: 'RESULTS', weight: 3}, {head: 'C/H/M/L', fixed: 13})
  const t = new FittedTable(columns, width)
  for (const group of groups) {
    const row = [group.cluster]
    if (view !== 'cluster') row.push(group.namespace ?? '')
    if (view === 'workload') row.push(group.workload ?? '')
    row.push(wide ? group.images.join('\n') : String(group.images.length), String(group.fips), groupResults(group), vulns(group.vulnerabilities))
    t.push(row)
  }
  return t.toString()
}

export function renderStatus(status: StatusResult, width: number, wide = false): string {
  if (status.images.length === 0 && status.message !== undefined) return `${status.message}\n`
  const table = status.view === 'image' ? imageTable(status.images, width, wide) : groupTable(status.groups ?? [], status.view, width, wide)
  const out: string[] = []
  for (const d of status.drift) {
    if (d.kind === 'tag-digests-differ') out.push(`drift: ${d.tag} runs at ${d.digests.length} digests: ${d.digests.map((x) => `${shortDigest(x.digest)} in ${x.runsIn.join(', ')}`).join('; ')}`)
    else out.push(`drift: ${d.tag} runs at ${shortDigest(d.digest)} in ${d.runsIn.join(', ')}, but Snyk last imported ${shortDigest(d.monitoredDigest)}`)
  }
  const c = status.counts
  const parts = [`${c.images} images`, `${c.monitored} monitored`, `${c.pending} pending`, `${c.failed} failed`, `${c.skipped} skipped`]
  if (c.notSubmitted) parts.push(`${c.notSubmitted} not submitted`)
  parts.push(`${c.fips} FIPS`)
  parts.push(`vulnerabilities C/H/M/L ${c.critical}/${c.high}/${c.medium}/${c.low}`)
  if (c.drift) parts.push(`${c.drift} drift`)
  out.push(parts.join(', '))
  if (status.refresh) {
    out.push(status.refresh.error ? `refresh failed: ${status.refresh.error} (showing stored counts)` : `refreshed ${status.refresh.counted} of ${status.refresh.projects} Snyk projects`)
  } else if (c.monitored > 0 && status.images.every((image) => image.vulnerabilities === undefined)) {
    out.push('no vulnerability counts stored yet: run kubectl snyk-watch status --refresh')
  }
  if (status.sbom) out.push(`SBOM: ${status.sbom.written.length} CycloneDX documents written to ${status.sbom.dir}${status.sbom.failed.length ? `, ${status.sbom.failed.length} failed (${status.sbom.failed.map((f) => `${f.image}: ${f.error}`).join('; ')})` : ''}`)
  if (status.gate) {
    const g = status.gate
    out.push(g.tripped
      ? `gate: FAILED (--fail-on ${g.failOn}): ${g.images.length} image${g.images.length === 1 ? '' : 's'} with ${g.failOn} or worse issues: ${g.images.map((i) => i.image).join(', ')}`
      : `gate: passed (--fail-on ${g.failOn})${g.unknown ? `; ${g.unknown} images have no counts and were not judged` : ''}`)
  }
  const conflicts = status.images.filter((image) => image.fipsSource === 'conflicting-annotations').map((image) => image.image)
  if (conflicts.length > 0) out.push(`fips: pods running ${conflicts.length === 1 ? 'this image disagree' : 'these images disagree'} on ${fipsAnnotation} (counted as not FIPS): ${conflicts.length > 5 ? `${conflicts.slice(0, 5).join(', ')} and ${conflicts.length - 5} more` : conflicts.join(', ')}`)
  if (status.message !== undefined) out.push(status.message)
  // Concatenated, not joined: the table may be megabytes, and is not copied again.
  return `${table}\n${out.join('\n')}\n`
}

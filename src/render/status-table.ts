// The tables of `status`: one row per image (default) or per workload, namespace or cluster, then drift,
// the gate and a summary. Column widths follow the content within the terminal width (fitted-table.ts); no
// colour (see text-table.ts for why not cli-table3).
import {gateLine} from './gate-line.ts'
import {fipsAnnotation} from '../images/fips.ts'
import {FittedTable, type FittedColumn} from './fitted-table.ts'
import {shortDigest, shortDigests} from './short-digest.ts'
import type {StatusGroup, StatusImage, StatusResult, Vulnerabilities} from '../status/status-result.ts'

function vulns(v: Vulnerabilities | undefined): string {
  return v === undefined ? '-' : `${v.critical}/${v.high}/${v.medium}/${v.low}`
}

function fips(image: StatusImage, wide: boolean): string {
  const answer = image.fips ? 'yes' : 'no'
  if (!wide || image.fipsSource === 'name') return answer
  return `${answer}\n(${image.fipsSource === 'annotation' ? 'annotation' : 'conflict'})`
}

function result(image: StatusImage): string {
  return image.reason && image.result !== 'pending' ? `${image.result}: ${shortDigests(image.reason)}` : image.result
}

function runsIn(image: StatusImage, wide: boolean): string {
  const {clusters, namespaces, workloads} = image.runsIn
  const summary = `${clusters.join(', ')} (${namespaces.length} ns, ${workloads.length} workload${workloads.length === 1 ? '' : 's'})`
  if (!wide) return summary
  return [clusters.join(', '), ...workloads].join('\n')
}

const when = (at: string | undefined): string => (at === undefined ? '-' : `${at.slice(0, 10)} ${at.slice(11, 16)}`)

function imageTable(images: readonly StatusImage[], width: number, wide: boolean): string {
  const columns: FittedColumn[] = [
    {head: 'IMAGE'},
    {head: 'TAG'},
    {head: 'DIGEST', whole: true},
    {head: 'FIPS', optional: true},
    {head: 'RUNS IN'},
    {head: 'RESULT'},
    {head: 'C/H/M/L', whole: true},
  ]
  if (wide) columns.push({head: 'LAST SUBMITTED'}, {head: 'SNYK PROJECT'})
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
  const columns: FittedColumn[] = [{head: 'CLUSTER'}]
  if (view !== 'cluster') columns.push({head: 'NAMESPACE'})
  if (view === 'workload') columns.push({head: 'WORKLOAD'})
  columns.push({head: 'IMAGES'}, {head: 'FIPS', optional: true}, {head: 'RESULTS'}, {head: 'C/H/M/L', whole: true})
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
  if (status.gate) out.push(gateLine(status.gate))
  const conflicts = status.images.filter((image) => image.fipsSource === 'conflicting-annotations').map((image) => image.image)
  if (conflicts.length > 0) out.push(`fips: pods running ${conflicts.length === 1 ? 'this image disagree' : 'these images disagree'} on ${fipsAnnotation} (counted as not FIPS): ${conflicts.length > 5 ? `${conflicts.slice(0, 5).join(', ')} and ${conflicts.length - 5} more` : conflicts.join(', ')}`)
  if (status.message !== undefined) out.push(status.message)
  // Concatenated, not joined: the table may be megabytes, and is not copied again.
  return `${table}\n${out.join('\n')}\n`
}

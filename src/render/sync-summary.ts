// The summary a person reads after a sync: targets, counts, and the images that need attention.
// Under --dry-run, the whole inventory. Tables fit the terminal width and carry no colour.
import Table from 'cli-table3'
import type {SyncImage, SyncResult} from '../sync/sync-result.ts'

/** A table whose columns share the terminal width: fixed widths where given, the rest by weight. */
function table(head: string[], width: number, columns: Array<{fixed?: number; weight?: number}>): Table.Table {
  const borders = head.length + 1
  const fixed = columns.reduce((sum, c) => sum + (c.fixed ?? 0), 0)
  const flexible = Math.max(columns.length * 8, Math.max(60, width) - borders - fixed)
  const weights = columns.reduce((sum, c) => sum + (c.fixed ? 0 : (c.weight ?? 1)), 0)
  const colWidths = columns.map((c) => c.fixed ?? Math.max(8, Math.floor((flexible * (c.weight ?? 1)) / weights)))
  return new Table({head, colWidths, wordWrap: true, wrapOnWordBoundary: false, style: {head: [], border: [], compact: true}})
}

function where(image: SyncImage): string {
  const clusters = image.runsIn.clusters.join(', ')
  return `${clusters} (${image.runsIn.containers} container${image.runsIn.containers === 1 ? '' : 's'})`
}

export function renderSyncSummary(result: SyncResult, width: number): string {
  const out: string[] = []
  const targets = table(['TARGET', 'PODS', 'IMAGES', 'STATUS'], width, [{weight: 2}, {fixed: 8}, {fixed: 8}, {weight: 4}])
  for (const t of result.targets) {
    const status = t.status === 'ok' ? ['ok', ...t.warnings.map((w) => `warning: ${w}`)].join('\n') : `FAILED: ${t.error}${t.suggestion ? `\nfix: ${t.suggestion}` : ''}`
    targets.push([t.name, String(t.pods), String(t.images), status])
  }
  out.push(targets.toString())

  const shown = result.dryRun ? result.images : result.images.filter((i) => ['failed', 'skipped', 'pending', 'interrupted'].includes(i.result))
  if (shown.length > 0) {
    const images = table(['IMAGE', 'DIGEST', 'RESULT', result.dryRun ? 'SNYK TARGET / REASON' : 'REASON / FIX', 'RUNS IN'], width, [{weight: 4}, {fixed: 21}, {fixed: 14}, {weight: 4}, {weight: 2}])
    for (const image of shown) {
      const detail = image.snykTarget ? `${image.snykTarget} (${image.integration?.type})` : [image.reason, image.fix ? `fix: ${image.fix}` : ''].filter(Boolean).join('\n')
      images.push([image.image, image.digest ? image.digest.slice(0, 19) : '-', image.result, detail, where(image)])
    }
    out.push(images.toString())
  }

  const c = result.counts
  const parts = result.dryRun
    ? [`${c.images} unique images in ${c.pods} pods`, `${c.submitted} would be submitted`, `${c.skipped} would be skipped`]
    : [`${c.images} unique images in ${c.pods} pods`, `${c.submitted + c.monitored} submitted${c.monitored ? ` (${c.monitored} monitored)` : ''}`, `${c.unchanged} unchanged`, `${c.skipped} skipped`, `${c.failed} failed`]
  if (c.pending) parts.push(`${c.pending} still importing`)
  if (c.inFlight) parts.push(`${c.inFlight} in flight elsewhere`)
  if (c.interrupted) parts.push(`${c.interrupted} left for the next run`)
  if (c.targetsFailed) parts.push(`${c.targetsFailed} of ${c.targets} targets failed`)
  out.push(parts.join(', '))
  for (const d of result.drift) out.push(`drift: ${d.tag} now runs ${d.digest.slice(0, 19)} (was ${d.previousDigest.slice(0, 19)})`)
  if (result.problems.length > 0) out.push(`${result.problems.length} containers have an image reference that cannot be parsed (see --json: problems)`)
  return out.join('\n') + '\n'
}

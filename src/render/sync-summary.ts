// The summary a person reads after a sync: targets, counts, and the images that need attention.
// Under --dry-run, the whole inventory. Column widths follow the content within the terminal width
// (fitted-table.ts, the table writer of `status` too); no colour.
import {FittedTable} from './fitted-table.ts'
import {gateLine} from './gate-line.ts'
import {shortDigest, shortDigests} from './short-digest.ts'
import type {SyncImage, SyncResult} from '../sync/sync-result.ts'

function where(image: SyncImage): string {
  const clusters = image.runsIn.clusters.join(', ')
  return `${clusters} (${image.runsIn.containers} container${image.runsIn.containers === 1 ? '' : 's'})`
}

export function renderSyncSummary(result: SyncResult, width: number): string {
  const out: string[] = []
  const targets = new FittedTable([{head: 'TARGET'}, {head: 'PODS'}, {head: 'IMAGES'}, {head: 'STATUS'}], width)
  for (const t of result.targets) {
    const status = t.status === 'ok' ? ['ok', ...t.warnings.map((w) => `warning: ${w}`)].join('\n') : `FAILED: ${t.error}${t.suggestion ? `\nfix: ${t.suggestion}` : ''}`
    targets.push([t.name, String(t.pods), String(t.images), status])
  }
  out.push(targets.toString())

  const shown = result.dryRun ? result.images : result.images.filter((i) => ['failed', 'skipped', 'pending', 'interrupted', 'in-flight'].includes(i.result))
  if (shown.length > 0) {
    // A result is one word (`would-submit`): broken at its `-` only when nothing else can give way.
    const images = new FittedTable([{head: 'IMAGE'}, {head: 'DIGEST', whole: true}, {head: 'RESULT', whole: true}, {head: result.dryRun ? 'SNYK TARGET / REASON' : 'REASON / FIX'}, {head: 'RUNS IN'}], width)
    for (const image of shown) {
      // In flight elsewhere: which run holds it and until when is what the reader needs.
      const detail = image.result === 'in-flight' && image.reason ? image.reason : image.snykTarget ? `${image.snykTarget} (${image.integration?.type})` : [image.reason, image.fix ? `fix: ${image.fix}` : ''].filter(Boolean).join('\n')
      images.push([shortDigests(image.image), shortDigest(image.digest), image.result, shortDigests(detail), where(image)])
    }
    out.push(images.toString())
  }

  const c = result.counts
  const parts = result.dryRun
    ? [`${c.images} unique images in ${c.pods} pods`, `${c.wouldSubmit} would be submitted`, `${c.wouldSkip} would be skipped`]
    : [`${c.images} unique images in ${c.pods} pods`, `${c.submitted + c.monitored} submitted${c.monitored ? ` (${c.monitored} monitored)` : ''}`, `${c.unchanged} unchanged`, `${c.skipped} skipped`, `${c.failed} failed`]
  if (c.pending) parts.push(`${c.pending} still importing`)
  if (c.inFlight) parts.push(`${c.inFlight} in flight elsewhere`)
  if (c.interrupted) parts.push(`${c.interrupted} left for the next run`)
  if (c.targetsFailed) parts.push(`${c.targetsFailed} of ${c.targets} targets failed`)
  out.push(parts.join(', '))
  const takenOver = new Map<string, number>()
  for (const image of result.images) if (image.takenOverFrom) takenOver.set(image.takenOverFrom, (takenOver.get(image.takenOverFrom) ?? 0) + 1)
  for (const [run, count] of takenOver) out.push(`took over ${count} image${count === 1 ? '' : 's'} from run ${run}, which stopped without finishing`)
  for (const d of result.drift) out.push(`drift: ${d.tag} now runs ${shortDigest(d.digest)} (was ${shortDigest(d.previousDigest)})`)
  if (result.gate) {
    const g = result.gate
    if (g.refresh.error) out.push(`counts: ${g.refresh.error} (the gate judged the stored counts)`)
    out.push(gateLine(g, g.newOnly ? `--fail-on-new: ${g.judged} new image${g.judged === 1 ? '' : 's'} judged` : undefined))
  }
  if (result.problems.length > 0) out.push(`${result.problems.length} containers have an image reference that cannot be parsed (see --json: problems)`)
  return out.join('\n') + '\n'
}

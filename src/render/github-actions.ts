// A gate's verdict for GitHub Actions (GITHUB_ACTIONS=true): `::error` workflow commands on stderr (the runner reads
// them there too, so `-o json` keeps stdout to itself), one per image over the gate, and a Markdown job summary
// appended to $GITHUB_STEP_SUMMARY. GitHub shows at most 10 error annotations of a step: past that, 9 and one that
// points to the summary, which lists every image.
import {appendFile} from 'node:fs/promises'
import type {StatusGate} from '../status/status-result.ts'

const shownAnnotations = 10
/** Rows of the summary's table: the step summary may hold 1 MiB. */
const summaryRows = 1000

/** A workflow command's message: `%`, CR and LF escaped (`%` first), as @actions/core does. */
export function escapeData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A')
}

/** A workflow command's property value: the message's escapes, plus `:` and `,`. */
export function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C')
}

const countsOf = (image: StatusGate['images'][number]) => `critical ${image.critical}, high ${image.high}, medium ${image.medium}, low ${image.low}`

/** The `::error` lines of a tripped gate (none when it passed). */
export function gateAnnotations(gate: StatusGate, command: string): string[] {
  if (!gate.tripped) return []
  const title = escapeProperty(`kubectl snyk-watch ${command} --fail-on ${gate.failOn}`)
  const line = (message: string) => `::error title=${title}::${escapeData(message)}`
  const images = gate.images.length > shownAnnotations ? gate.images.slice(0, shownAnnotations - 1) : gate.images
  const lines = images.map((image) => line(`${image.image} has ${gate.failOn} or worse issues (${countsOf(image)})`))
  const more = gate.images.length - images.length
  if (more > 0) lines.push(line(`and ${more} more images with ${gate.failOn} or worse issues: see the job summary`))
  return lines
}

const cell = (text: string) => text.replaceAll('|', '\\|')

/** The Markdown job summary of a gate, passed or failed. */
export function gateSummary(gate: StatusGate, command: string): string {
  const head = `### kubectl snyk-watch ${command}: gate ${gate.tripped ? 'FAILED' : 'passed'} (--fail-on ${gate.failOn})\n\n`
  const unjudged = gate.unknown > 0 ? `${gate.unknown} image${gate.unknown === 1 ? ' has' : 's have'} no counts and ${gate.unknown === 1 ? 'was' : 'were'} not judged.\n\n` : ''
  if (!gate.tripped) return `${head}No image has ${gate.failOn} or worse issues.\n\n${unjudged}`
  const rows = gate.images.slice(0, summaryRows).map((image) => `| \`${cell(image.image)}\` | ${image.critical} | ${image.high} | ${image.medium} | ${image.low} |`)
  const more = gate.images.length - rows.length
  return [
    head,
    `${gate.images.length} image${gate.images.length === 1 ? '' : 's'} with ${gate.failOn} or worse issues:\n\n`,
    '| Image | Critical | High | Medium | Low |\n|---|---:|---:|---:|---:|\n',
    rows.map((row) => `${row}\n`).join(''),
    more > 0 ? `\nand ${more} more (see \`--json\`).\n` : '',
    `\n${unjudged}`,
  ].join('')
}

/** Under GitHub Actions: the annotations on `stderr` and the summary appended to $GITHUB_STEP_SUMMARY (when set). */
export async function reportGateToGitHub(gate: StatusGate | undefined, command: string, env: NodeJS.ProcessEnv, stderr: NodeJS.WritableStream): Promise<void> {
  if (gate === undefined || env['GITHUB_ACTIONS'] !== 'true') return
  for (const line of gateAnnotations(gate, command)) stderr.write(`${line}\n`)
  const summaryFile = env['GITHUB_STEP_SUMMARY']
  if (!summaryFile) return
  try {
    await appendFile(summaryFile, gateSummary(gate, command))
  } catch (error) {
    // The gate's answer is the exit code; a summary that cannot be written is worth a warning, not a failure.
    stderr.write(`::warning::${escapeData(`could not write the job summary to ${summaryFile}: ${(error as Error).message}`)}
`)
  }
}

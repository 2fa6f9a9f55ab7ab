// A gate's verdict for GitHub Actions: workflow-command escaping as @actions/core does it, at most 10 annotations
// (GitHub shows no more for a step), and the Markdown job summary.
import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'
import {test} from 'node:test'
import {escapeData, escapeProperty, gateAnnotations, gateSummary, reportGateToGitHub} from '../../../src/render/github-actions.ts'
import type {StatusGate} from '../../../src/status/status-result.ts'

const image = (n: number) => ({image: `docker.io/acme/app-${n}:1.0`, critical: 1, high: n, medium: 0, low: 0})
const gate = (count: number): StatusGate => ({failOn: 'high', tripped: count > 0, images: Array.from({length: count}, (_, i) => image(i + 1)), unknown: 2})

test('escaping: % first, then CR and LF; properties also escape : and ,', () => {
  assert.equal(escapeData('100% done\r\nnext'), '100%25 done%0D%0Anext')
  assert.equal(escapeProperty('a:b,c%'), 'a%3Ab%2Cc%25')
})

test('one ::error per image over the gate, titled with the command and severity; past 10, 9 and a pointer to the summary', () => {
  assert.deepEqual(gateAnnotations(gate(1), 'sync'), ['::error title=kubectl snyk-watch sync --fail-on high::docker.io/acme/app-1:1.0 has high or worse issues (critical 1, high 1, medium 0, low 0)'])
  const many = gateAnnotations(gate(12), 'status')
  assert.equal(many.length, 10)
  assert.match(many.at(-1)!, /::and 3 more images with high or worse issues: see the job summary$/)
  assert.deepEqual(gateAnnotations(gate(0), 'sync'), [], 'a gate that passed annotates nothing')
})

test('the job summary: a table of every image over the gate, or one line when it passed; written only under GITHUB_ACTIONS=true', async (t) => {
  const summary = gateSummary(gate(2), 'sync')
  assert.match(summary, /^### kubectl snyk-watch sync: gate FAILED \(--fail-on high\)\n/)
  assert.match(summary, /\| Image \| Critical \| High \| Medium \| Low \|\n\|---\|---:\|---:\|---:\|---:\|\n\| `docker\.io\/acme\/app-1:1\.0` \| 1 \| 1 \| 0 \| 0 \|\n\| `docker\.io\/acme\/app-2:1\.0` \| 1 \| 2 \| 0 \| 0 \|/)
  assert.match(summary, /2 images have no counts and were not judged/)
  assert.match(gateSummary(gate(0), 'status'), /gate passed \(--fail-on high\)\n\nNo image has high or worse issues\./)

  const dir = await mkdtemp(path.join(tmpdir(), 'gha-'))
  t.after(() => rm(dir, {recursive: true, force: true}))
  const file = path.join(dir, 'summary.md')
  const stderr = new PassThrough()
  let written = ''
  stderr.on('data', (chunk: Buffer) => (written += chunk.toString()))
  await reportGateToGitHub(gate(1), 'sync', {GITHUB_STEP_SUMMARY: file}, stderr)
  assert.equal(written, '', 'outside GitHub Actions: nothing')
  await reportGateToGitHub(gate(1), 'sync', {GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: file}, stderr)
  await reportGateToGitHub(gate(0), 'sync', {GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: file}, stderr)
  assert.match(written, /^::error title=kubectl snyk-watch sync --fail-on high::docker\.io\/acme\/app-1:1\.0/)
  const appended = await readFile(file, 'utf8')
  assert.match(appended, /gate FAILED[\s\S]*gate passed/, 'appended, as each step adds to its summary')
  await reportGateToGitHub(gate(1), 'sync', {GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: path.join(dir, 'missing', 'summary.md')}, stderr)
  assert.match(written, /::warning::could not write the job summary to /)
})

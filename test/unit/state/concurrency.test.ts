// Two processes on one state file: overlapping runs never claim the same image twice, and a run killed
// mid-write leaves a consistent file whose claims the next run takes over once their lease expired.
import assert from 'node:assert/strict'
import {setTimeout as sleep} from 'node:timers/promises'
import {test} from 'node:test'
import {DatabaseSync} from 'node:sqlite'
import {openStateStore} from '../../../src/state/state-store.ts'
import {manyObservations, startWorker, temporaryStatePath} from './fixtures/state-fixtures.ts'

test('two processes racing to claim the same 200 images claim each exactly once', async (t) => {
  const file = temporaryStatePath(t)
  const setup = openStateStore(file)
  const observer = setup.beginRun('sync')
  const keys = setup.recordObservations(observer, 'kc#dev', manyObservations(200, {target: 'kc#dev'})).imageKeys
  // Half the images were left queued by an earlier watch (claims update an existing row), half are new (claims insert one).
  setup.persistQueue(keys.filter((_, i) => i % 2 === 0), observer)
  setup.close()

  const workers = [startWorker('./claim-worker.ts', [file, 'a']), startWorker('./claim-worker.ts', [file, 'b'])]
  t.after(() => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL')
  })
  const runIds = await Promise.all(workers.map(async (worker) => (await worker.waitForLine(/^ready /)).split(' ')[1]))
  const start = Date.now() + 300
  for (const worker of workers) worker.child.stdin.end(`go ${start}\n`)
  const results = await Promise.all(workers.map((worker) => worker.exited))
  for (const result of results) assert.equal(result.code, 0, result.stderr)
  const won = results.map(({lines}) => JSON.parse(lines.find((line) => line.startsWith('won '))?.slice(4) ?? '[]') as string[])
  const [a = [], b = []] = won
  t.diagnostic(`process a claimed ${a.length}, process b ${b.length}`)

  assert.deepEqual([...a, ...b].sort(), [...keys].sort(), 'every image claimed')
  assert.equal(new Set([...a, ...b]).size, keys.length, 'no image claimed twice')

  const store = openStateStore(file)
  t.after(() => store.close())
  const holders = new Map(store.pendingWork().map((work) => [work.key, work.claim?.runId]))
  for (const key of a) assert.equal(holders.get(key), runIds[0])
  for (const key of b) assert.equal(holders.get(key), runIds[1])
})

test('a run killed with SIGKILL mid-batch leaves a consistent store whose claims are taken over after their lease', async (t) => {
  const file = temporaryStatePath(t)
  const perRound = 1_500
  const worker = startWorker('./write-worker.ts', [file, String(perRound)])
  t.after(() => {
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL')
  })
  const killedRun = (await worker.waitForLine(/^run /)).slice('run '.length)
  await worker.waitForLine(/^round 4$/)
  await sleep(Math.floor(Math.random() * 40))
  worker.child.kill('SIGKILL')
  const {signal, lines} = await worker.exited
  assert.equal(signal, 'SIGKILL')
  const lastRound = Math.max(...lines.filter((line) => line.startsWith('round ')).map((line) => Number(line.slice(6))))
  t.diagnostic(`killed after round ${lastRound}`)

  // The file is intact: integrity, foreign keys, and every target's placements from exactly one complete listing.
  const raw = new DatabaseSync(file)
  t.after(() => raw.close())
  assert.equal(raw.prepare('PRAGMA integrity_check').get()?.['integrity_check'], 'ok')
  assert.deepEqual(raw.prepare('PRAGMA foreign_key_check').all(), [])
  const perTarget = raw.prepare(`SELECT target, count(*) AS n, count(DISTINCT substr(pod, 1, instr(pod, '-') - 1)) AS rounds FROM placements GROUP BY target ORDER BY target`).all()
  assert.deepEqual(
    perTarget.map((row) => [row['target'], row['n'], row['rounds']]),
    ['kc#cluster-0', 'kc#cluster-1', 'kc#cluster-2'].map((target) => [target, perRound, 1]),
  )
  const claimedWithoutSubmission = raw.prepare(`SELECT count(*) AS n FROM submissions WHERE claimed_by IS NOT NULL AND state NOT IN ('queued', 'submitting')`).get()
  assert.equal(claimedWithoutSubmission?.['n'], 0)

  // The killed run's claims hold until their lease (60 s) expires, then the next run takes them over.
  const now = Date.now()
  const early = openStateStore(file, {clock: () => now})
  t.after(() => early.close())
  const pending = early.pendingWork()
  assert.ok(pending.length >= (lastRound + 1) * perRound, `pending work of every completed round is there (${pending.length})`)
  assert.ok(pending.every((work) => work.claim !== undefined && work.claim.runId === killedRun && !work.claim.expired))
  assert.ok(pending.some((work) => work.state === 'submitting'))
  const keys = pending.map((work) => work.key)
  const tooEarly = early.beginRun('sync')
  assert.ok([...early.claimMany(keys, {runId: tooEarly, resubmitAfterMs: 86_400_000, leaseMs: 60_000}).values()].every((result) => !result.claimed && result.reason === 'in-flight'))

  const later = openStateStore(file, {clock: () => now + 61_000})
  t.after(() => later.close())
  const next = later.beginRun('sync')
  const takenOver = later.claimMany(keys, {runId: next, resubmitAfterMs: 86_400_000, leaseMs: 60_000})
  assert.ok([...takenOver.values()].every((result) => result.claimed && result.takenOverFrom === killedRun))
  assert.equal(later.getRun(killedRun)?.finishedAt, undefined, 'the killed run never finished')
})

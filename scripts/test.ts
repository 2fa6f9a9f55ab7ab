// `npm test` after lint, type-check and build: makes sure the control-plane binaries exist (building
// them through the Go module proxy on a cold machine), runs every test file with node's test runner,
// then checks that no process the tests started (etcd, kube-apiserver: the PID ledger) is still running.
// Arguments select test files: a path to a `.test.ts` file or a directory runs those files, other words are file
// name filters.
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {ensureControlPlaneBinaries} from '../test/controlplane/binaries.ts'
import {LEDGER_ENV, stillRunning} from '../test/controlplane/process-ledger.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

function testFiles(dir: string): string[] {
  let entries
  try {
    entries = readdirSync(path.join(root, dir), {withFileTypes: true, recursive: true})
  } catch {
    return []
  }
  return entries.filter((e) => e.isFile() && e.name.endsWith('.test.ts')).map((e) => path.relative(root, path.join(e.parentPath, e.name))).sort()
}

const started = Date.now()
const binaries = await ensureControlPlaneBinaries((line) => console.log(line))
console.log(`control plane ready: kube-apiserver ${binaries.kubernetesVersion}, etcd ${binaries.etcdVersion}, kubectl ${binaries.kubernetesVersion} (${((Date.now() - started) / 1000).toFixed(1)} s)`)

const files = [...testFiles('test/unit'), ...testFiles('test/integration'), ...testFiles('test/e2e')]
const args = process.argv.slice(2)
const isDirectory = (arg: string) => existsSync(path.resolve(root, arg)) && statSync(path.resolve(root, arg)).isDirectory()
// A directory (e.g. test/package, which `npm test` leaves out: `npm run test:package` builds the release first) runs its files.
const named = args.flatMap((arg) => (isDirectory(arg) ? testFiles(arg) : arg.endsWith('.test.ts') && existsSync(path.resolve(root, arg)) ? [arg] : []))
const filters = args.filter((arg) => !named.includes(arg) && !isDirectory(arg))
const selected = args.length > 0 ? [...named, ...files.filter((file) => filters.some((f) => file.includes(f)))] : files
console.log(`running ${selected.length} test files`)

const ledgerDir = mkdtempSync(path.join(tmpdir(), 'snyk-watch-test-pids-'))
const ledger = path.join(ledgerDir, 'started')
const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=600000', ...selected], {
    cwd: root,
    stdio: 'inherit',
    env: {...process.env, [LEDGER_ENV]: ledger},
  })
  child.on('close', (exitCode) => resolve(exitCode ?? 1))
})

// A test process's exit hook SIGKILLs what it still runs as it exits: give those signals a moment to land.
let leftovers = stillRunning(ledger)
for (let waited = 0; leftovers.length > 0 && waited < 2000; waited += 100) {
  await new Promise((resolve) => setTimeout(resolve, 100))
  leftovers = stillRunning(ledger)
}
rmSync(ledgerDir, {recursive: true, force: true})
if (leftovers.length > 0) {
  console.error(`tests left processes they started running: ${leftovers.map((p) => `${p.pid} ${p.name}`).join(', ')} (stopped now)`)
  for (const {pid} of leftovers) process.kill(pid, 'SIGKILL')
  process.exit(1)
}
console.log('no process the tests started is left running')
process.exit(code)

// `npm test` after lint, type-check and build: makes sure the control-plane binaries exist (building
// them through the Go module proxy on a cold machine), runs every test file with node's test runner,
// then checks that no etcd or kube-apiserver started by the tests is still running.
import {spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {ensureControlPlaneBinaries} from '../test/controlplane/binaries.ts'

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

/** PIDs of etcd / kube-apiserver processes running from our binary cache. */
function leftoverControlPlanes(binaryDir: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (cmdline[0]?.startsWith(binaryDir)) found.push(`${pid} ${path.basename(cmdline[0])}`)
    } catch {
      // the process ended while we looked
    }
  }
  return found
}

const started = Date.now()
const binaries = await ensureControlPlaneBinaries((line) => console.log(line))
console.log(`control plane ready: kube-apiserver ${binaries.kubernetesVersion}, etcd ${binaries.etcdVersion}, kubectl ${binaries.kubernetesVersion} (${((Date.now() - started) / 1000).toFixed(1)} s)`)

const before = new Set(leftoverControlPlanes(binaries.dir))
const files = [...testFiles('test/unit'), ...testFiles('test/integration'), ...testFiles('test/e2e')]
const filter = process.argv.slice(2)
const selected = filter.length > 0 ? files.filter((file) => filter.some((f) => file.includes(f))) : files
console.log(`running ${selected.length} test files`)

const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=600000', ...selected], {cwd: root, stdio: 'inherit'})
  child.on('close', (exitCode) => resolve(exitCode ?? 1))
})

const leftovers = leftoverControlPlanes(binaries.dir).filter((entry) => !before.has(entry))
if (leftovers.length > 0) {
  console.error(`tests left control-plane processes running: ${leftovers.join(', ')}`)
  for (const entry of leftovers) process.kill(Number(entry.split(' ')[0]), 'SIGKILL')
  process.exit(1)
}
console.log('no etcd or kube-apiserver left running')
process.exit(code)

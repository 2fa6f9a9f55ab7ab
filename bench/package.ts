// Benchmarks the self-contained executables against the npm install: the size of each platform's executable, and
// the start of short commands, each a cold process, run from the linux-amd64 executable and from `node bin/run.js`.
//
//     node bench/package.ts [--images 20000] [--repeat 9] [--skip-build]
//
// --skip-build: measure dist/ and dist/release/bin/linux-amd64 as they are, instead of building them first (npm run
// package builds every platform; the sizes of those found are shown).
//
// Measured: `--help`, and `status` over a state store of --images images (bench/status-store-seeder.ts; the table to
// a file, 160 columns). Both with their code caches warm, as every start after a user's first one (Node.js's compile
// cache for the npm install, the executable's own cache in its home), and with NODE_DISABLE_COMPILE_CACHE=1, as a
// first start. Each figure is the median of --repeat rounds after one warm-up, the two interleaved.
// Goal: the executable starts no slower than the npm install: exe/npm <= 1 (`ok` allows 5 % of noise).
import {spawn} from 'node:child_process'
import {closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {buildCli} from '../scripts/package/cli-build.ts'
import {nodeBinaryOf, readNodePins} from '../scripts/package/node-binaries.ts'
import {executableName, platforms} from '../scripts/package/platforms.ts'
import {buildExecutables} from '../scripts/package/sea.ts'
import {childEnv} from './cli-process.ts'
import {seedStatusStore} from './status-store-seeder.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const node = path.join(root, 'node_modules', '.bin', 'node')
const {values} = parseArgs({options: {images: {type: 'string', default: '20000'}, repeat: {type: 'string', default: '9'}, 'skip-build': {type: 'boolean', default: false}}})
const imageCount = Number(values.images)
const repeat = Number(values.repeat)
if (!Number.isInteger(imageCount) || imageCount < 1 || !Number.isInteger(repeat) || repeat < 1) throw new Error('--images and --repeat must be positive integers')

const binDir = path.join(root, 'dist', 'release', 'bin')
const executable = path.join(binDir, 'linux-amd64', executableName('linux-amd64'))
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`

function run(command: string, args: string[], env: NodeJS.ProcessEnv, outFile: string): Promise<{ms: number; code: number | null}> {
  return new Promise((resolve, reject) => {
    const out = openSync(outFile, 'w')
    const started = performance.now()
    const child = spawn(command, args, {env, stdio: ['ignore', out, 'inherit']})
    child.on('error', reject)
    child.on('close', (code) => {
      closeSync(out)
      resolve({ms: performance.now() - started, code})
    })
  })
}

async function main(): Promise<void> {
  if (!values['skip-build']) {
    await buildCli(root)
    const {version} = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string}
    await buildExecutables({root, version, platforms: ['linux-amd64'], log: (line) => console.log(line)})
  }
  if (!existsSync(executable)) throw new Error(`${executable} is missing: run npm run package, or drop --skip-build`)

  console.log('\nsize of each executable (the Node.js binary it is made of, and what the CLI adds)')
  const pins = await readNodePins(root)
  for (const platform of platforms) {
    const file = path.join(binDir, platform, executableName(platform))
    if (!existsSync(file)) {
      console.log(`${platform.padEnd(14)} not built (npm run package)`)
      continue
    }
    const size = statSync(file).size
    const nodeSize = statSync((await nodeBinaryOf(platform, pins)).path).size
    console.log(`${platform.padEnd(14)} ${mb(size).padStart(9)}   node ${mb(nodeSize)} + ${mb(size - nodeSize)}`)
  }

  const dir = mkdtempSync(path.join(tmpdir(), 'snyk-watch-bench-package-'))
  try {
    const state = path.join(dir, 'state.db')
    const seeding = performance.now()
    seedStatusStore(state, imageCount)
    console.log(`\nseeded ${imageCount} images in ${Math.round(performance.now() - seeding)} ms`)
    const warm = {...childEnv(path.join(dir, 'home')), SNYK_WATCH_STATE: state, COLUMNS: '160'}
    const cold = {...warm, NODE_DISABLE_COMPILE_CACHE: '1'}
    const bin = path.join(root, 'bin', 'run.js')
    const cases: Array<{name: string; args: string[]; env: NodeJS.ProcessEnv}> = [
      {name: '--help', args: ['--help'], env: warm},
      {name: `status (${imageCount})`, args: ['status'], env: warm},
      {name: '--help, no code cache', args: ['--help'], env: cold},
      {name: `status, no code cache`, args: ['status'], env: cold},
    ]
    const times = new Map<string, {npm: number[]; exe: number[]}>(cases.map(({name}) => [name, {npm: [], exe: []}]))
    for (let round = 0; round <= repeat; round++) {
      for (const {name, args, env} of cases) {
        const npm = await run(node, [bin, ...args], env, path.join(dir, 'out'))
        const exe = await run(executable, args, env, path.join(dir, 'out'))
        if (npm.code !== 0 || exe.code !== 0) throw new Error(`${name} exited ${npm.code} (npm) and ${exe.code} (executable)`)
        if (round === 0) continue
        times.get(name)!.npm.push(npm.ms)
        times.get(name)!.exe.push(exe.ms)
      }
    }
    console.log(`\nmedian of ${repeat} cold processes: linux-amd64 executable vs the npm install (node bin/run.js); goal exe/npm <= 1`)
    for (const {name} of cases) {
      const {npm, exe} = times.get(name)!
      const ratio = median(exe) / median(npm)
      console.log(`${name.padEnd(24)} npm ${String(Math.round(median(npm))).padStart(5)} ms   exe ${String(Math.round(median(exe))).padStart(5)} ms   exe/npm ${ratio.toFixed(2)}  ${ratio <= 1.05 ? 'ok' : 'SLOWER'}`)
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

await main()

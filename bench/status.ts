// Benchmarks `kubectl snyk-watch status` over a state store of 20,000 images (default), each a cold process,
// against `node -e 0` (the cost of starting Node alone) measured in the same run.
//
//     node bench/status.ts [--images 20000] [--repeat 5] [--skip-build] [--state FILE]
//
// --state FILE: seed into FILE (kept afterwards; reused as is when it exists) instead of a temporary store.
//
// The store is seeded through the state store's own API, as sync fills it: three clusters, 20 namespaces,
// one workload per image; 80 % monitored with issue counts, 10 % skipped, 5 % failed, 5 % never submitted.
// Measured: `status` (table, stdout to a file, 160 columns), `status -o json`, `status --by namespace`, and
// `status` on an empty store (the CLI's start-up alone).
// Each figure is the median wall time of --repeat rounds after one warm-up. Goal: status <= 500 ms.
import {spawn} from 'node:child_process'
import {closeSync, existsSync, mkdtempSync, openSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {openStateStore} from '../src/state/state-store.ts'
import {seedStatusStore} from './status-store-seeder.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const node = path.join(root, 'node_modules', '.bin', 'node')
const {values} = parseArgs({options: {images: {type: 'string', default: '20000'}, repeat: {type: 'string', default: '5'}, 'skip-build': {type: 'boolean', default: false}, state: {type: 'string'}}})
const imageCount = Number(values.images)
const repeat = Number(values.repeat)
if (!Number.isInteger(imageCount) || imageCount < 1 || !Number.isInteger(repeat) || repeat < 1) throw new Error('--images and --repeat must be positive integers')

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

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
async function main(): Promise<void> {
  if (!values['skip-build']) {
    const build = await run(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], process.env, '/dev/null')
    if (build.code !== 0) throw new Error('build failed')
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'snyk-watch-bench-status-'))
  try {
    const state = values.state ?? path.join(dir, 'state.db')
    if (!existsSync(state)) {
      const seeding = performance.now()
      seedStatusStore(state, imageCount)
      console.log(`seeded ${imageCount} images in ${Math.round(performance.now() - seeding)} ms`)
    }
    // The same command on an empty store: what starting the CLI costs before any image is read.
    const empty = path.join(dir, 'empty.db')
    openStateStore(empty).close()
    const env = {...process.env, HOME: dir, SNYK_WATCH_STATE: state, NO_COLOR: '1'}
    const bin = path.join(root, 'bin', 'run.js')
    const commands: Array<[string, string[]]> = [
      ['node -e 0', ['-e', '0']],
      ['status (empty store)', [bin, 'status', '--state', empty]],
      ['status (table)', [bin, 'status']],
      ['status -o json', [bin, 'status', '-o', 'json']],
      ['status --by namespace', [bin, 'status', '--by', 'namespace']],
    ]
    const times = new Map<string, number[]>(commands.map(([name]) => [name, []]))
    for (let round = 0; round <= repeat; round++) {
      for (const [name, args] of commands) {
        const result = await run(node, args, env, path.join(dir, 'out'))
        if (result.code !== 0) throw new Error(`${name} exited ${result.code}`)
        if (round > 0) times.get(name)!.push(result.ms)
      }
    }
    const baseline = median(times.get('node -e 0')!)
    console.log(`median of ${repeat} cold runs over ${imageCount} images (goal: status <= 500 ms)`)
    for (const [name] of commands) {
      const ms = median(times.get(name)!)
      console.log(`${name.padEnd(24)} ${String(Math.round(ms)).padStart(6)} ms   x${(ms / baseline).toFixed(1)} node -e 0   ${name === 'node -e 0' ? '' : ms <= 500 ? 'ok' : 'OVER GOAL'}`)
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

await main()

// What the benchmarks that run the built CLI share: a clean environment for its processes, and the build.
import {spawn} from 'node:child_process'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const node = path.join(root, 'node_modules', '.bin', 'node')
const ms = (value: number): string => `${value.toFixed(0)} ms`

/** The environment of the CLI and kubectl under measurement: the machine's, minus Snyk/kubeconfig settings, with a fresh home. */
export function childEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('SNYK') || name === 'KUBECONFIG' || name === 'NODE_OPTIONS') continue
    env[name] = value
  }
  // A fresh home: no config file, state file or kubectl discovery cache from the machine's user.
  return {...env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_STATE_HOME: path.join(home, '.local', 'state'), XDG_CACHE_HOME: path.join(home, '.cache'), NO_COLOR: '1'}
}

export async function build(): Promise<void> {
  const started = performance.now()
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(node, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {cwd: root, stdio: 'inherit'})
    child.once('error', reject)
    child.once('close', (exit) => resolve(exit ?? 1))
  })
  if (code !== 0) throw new Error('the build (tsc -p tsconfig.build.json) failed')
  console.log(`build     npm run build's tsc: ${ms(performance.now() - started)}`)
}

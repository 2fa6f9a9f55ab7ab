// The built CLI installed as a kubectl plugin (kubectl-snyk_watch on PATH), three real clusters with the
// realistic workload, and a way to run the real kubectl against them, as a user would.
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {mkdtemp, rm, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {writeKubeconfig} from '../controlplane/kubeconfig.ts'
import {startClusters, type ClusterSet} from './clusters.ts'
import {seedWorkload} from './sync-scenario.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface KubectlRun {
  code: number | null
  stdout: string
  stderr: string
}

export interface PluginFixture {
  set: ClusterSet
  /** Runs the real kubectl with the plugin on PATH, the clusters' kubeconfig and `env` on top. */
  kubectl(args: string[], env: NodeJS.ProcessEnv): Promise<KubectlRun>
  /** The same, as a process left running (watch): the caller stops it. */
  spawnKubectl(args: string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams
  /** The environment kubectl runs in (the plugin and node on PATH, the clusters' kubeconfig), `env` on top. */
  environment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv
  /** The clusters' kubeconfig file. */
  kubeconfig: string
  stop(): Promise<void>
}

export async function startPluginFixture(names = ['e2e-a', 'e2e-b', 'e2e-c']): Promise<PluginFixture> {
  const set = await startClusters(names.length, {names})
  const pathDir = await mkdtemp(path.join(tmpdir(), 'snyk-watch-path-'))
  const stop = async () => {
    await set.stop()
    await rm(pathDir, {recursive: true, force: true})
  }
  try {
    await seedWorkload(set)
    const kubeconfig = await writeKubeconfig(path.join(set.workDir, 'config'), set.clusters.map((cluster) => ({cluster})))
    await symlink(path.join(root, 'bin', 'run.js'), path.join(pathDir, 'kubectl-snyk_watch'))
    // As npm installs it: kubectl (1.26+) completes the plugin through this one.
    await symlink(path.join(root, 'bin', 'kubectl_complete-snyk_watch'), path.join(pathDir, 'kubectl_complete-snyk_watch'))
    // Node 22 from the project's devDependencies stands in for the user's node.
    const environment = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({PATH: [pathDir, path.join(root, 'node_modules', '.bin'), process.env.PATH].join(path.delimiter), HOME: set.workDir, KUBECONFIG: kubeconfig, ...env})
    const spawnKubectl = (args: string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams => spawn(set.binaries.kubectl, args, {env: environment(env), stdio: 'pipe'})
    const kubectl = (args: string[], env: NodeJS.ProcessEnv): Promise<KubectlRun> =>
      new Promise((resolve) => {
        const child = spawnKubectl(args, env)
        child.stdin.end()
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
        child.on('close', (code) => resolve({code, stdout, stderr}))
      })
    return {set, kubectl, spawnKubectl, environment, kubeconfig, stop}
  } catch (error) {
    await stop()
    throw error
  }
}

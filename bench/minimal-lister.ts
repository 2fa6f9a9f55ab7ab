// The physical floor of `sync --dry-run --all-contexts` for bench:sync: the least a listing can do. For every
// context of one kubeconfig, all at once as sync does, it pages the pods (`GET /api/v1/pods?limit=N` with
// `continue`), parses each page (KubeApiClient.getJson) and counts its items; nothing else: no namespaces,
// ReplicaSets or Jobs, no reduction of the pods, no images, no oclif.
//
//     node bench/minimal-lister.ts --kubeconfig FILE [--page-size 250] [--dist DIR]
//
// Targets, TLS, credentials, keep-alive and the undici dispatcher are the CLI's own: loadKubeconfigs,
// resolveTargets and KubeApiClient as the build compiled them for the CLI (DIR, default dist/; src/ gives
// the types only), so only the work done differs. bench:sync runs this file with its types stripped
// (JavaScript, as the CLI runs), so that Node's TypeScript stripper is not part of the floor. Prints
// {"pods": N, "targets": [{"name", "pods", "pages"}]} on stdout; exits 1 if a target cannot be listed.
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {parseArgs} from 'node:util'

// As bin/run.js does for the CLI: V8's code cache on disk, turned on before the modules load.
const {enableCompileCache} = await import('node:module')
enableCompileCache?.()

const {values} = parseArgs({
  options: {
    kubeconfig: {type: 'string'},
    'page-size': {type: 'string', default: '250'},
    dist: {type: 'string', default: fileURLToPath(new URL('../dist', import.meta.url))},
  },
})
if (!values.kubeconfig) throw new Error('--kubeconfig FILE is needed')
const pageSize = Number(values['page-size'])
if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error(`--page-size must be an integer >= 1, got ${JSON.stringify(values['page-size'])}`)
const built = (file: string): Promise<unknown> => import(pathToFileURL(path.join(values.dist, file)).href)

const {loadKubeconfigs} = (await built('kube/kubeconfig-loader.js')) as typeof import('../src/kube/kubeconfig-loader.ts')
const {resolveTargets} = (await built('kube/target.js')) as typeof import('../src/kube/target.ts')
const {KubeApiClient} = (await built('kube/kube-api-client.js')) as typeof import('../src/kube/kube-api-client.ts')

/** Only what is counted: the parsed page's items and its continue token. */
interface PodPage {
  items?: unknown[]
  metadata?: {continue?: string}
}

const targets = resolveTargets(loadKubeconfigs({paths: [values.kubeconfig], env: process.env, homeDir: os.homedir()}), {contexts: [], allContexts: true})
const listed = await Promise.all(
  targets.map(async (target) => {
    const client = new KubeApiClient(target)
    try {
      let pods = 0
      let pages = 0
      let token: string | undefined
      do {
        const page = await client.getJson<PodPage>('/api/v1/pods', {limit: pageSize, continue: token})
        pages++
        pods += page.items?.length ?? 0
        token = page.metadata?.continue || undefined
      } while (token)
      return {name: target.name, pods, pages}
    } finally {
      await client.close()
    }
  }),
)
process.stdout.write(`${JSON.stringify({pods: listed.reduce((sum, target) => sum + target.pods, 0), targets: listed})}\n`)

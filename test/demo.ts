// `npm run demo`: two local clusters and the Snyk emulator, a realistic workload (several registries,
// duplicates across clusters, init and ephemeral containers, a registry without a Snyk integration, a
// digest-only reference), then, through the real kubectl exactly as a user would run them:
// `kubectl snyk-watch sync --all-contexts --wait`, `status --refresh` (Snyk's vulnerability counts per image)
// and `status --fail-on high`, the CI gate, which trips. Each command's exit code is checked: the demo fails
// when one is not what the README promises. Everything is stopped at the end.
import {spawn} from 'node:child_process'
import {mkdtemp, rm, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {writeKubeconfig} from './controlplane/kubeconfig.ts'
import {startSnykEmulator} from './emulator/snyk-emulator.ts'
import {startClusters} from './helpers/clusters.ts'
import {digestOf} from './helpers/kube-objects.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const say = (text: string) => console.log(`\n\u001b[1m# ${text}\u001b[0m`)

say('starting two clusters (etcd + kube-apiserver each) and the Snyk emulator')
const set = await startClusters(2, {names: ['prod-eu', 'prod-us']})
const snyk = await startSnykEmulator()
const pathDir = await mkdtemp(path.join(tmpdir(), 'snyk-watch-demo-'))
try {
  const [eu, us] = set.fixtures as [typeof set.fixtures[0], typeof set.fixtures[0]]
  say('creating workloads')
  for (const f of [eu, us]) {
    await f.createNamespace('shop')
    await f.createDeployment('shop', 'storefront', [{name: 'web', image: 'nginx:1.27', digest: digestOf('nginx:1.27')}], 3)
    await f.createSet('StatefulSet', 'shop', 'cache', [{name: 'redis', image: 'bitnami/redis:7.2', digest: digestOf('redis')}])
  }
  await eu.createNamespace('payments')
  await eu.createDeployment('payments', 'api', [{name: 'api', image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:4.2.0', digest: digestOf('payments-api')}], 2)
  await eu.createPod({
    namespace: 'payments',
    name: 'ledger-0',
    containers: [{name: 'ledger', image: 'ghcr.io/acme/ledger:1.9', digest: digestOf('ledger')}],
    initContainers: [{name: 'migrate', image: 'quay.io/acme/migrate:v3', digest: digestOf('migrate')}],
    ephemeralContainers: [{name: 'debug', image: 'busybox:1.36', digest: digestOf('busybox')}],
  })
  await us.createCronJob('shop', 'reports', [{name: 'report', image: 'gcr.io/acme-prod/reports:2024.11', digest: digestOf('reports')}])
  await us.createPod({namespace: 'shop', name: 'tools', containers: [{name: 'tools', image: 'registry.acme.internal:5000/ops/tools:7', digest: digestOf('tools')}]})
  await us.createPod({namespace: 'shop', name: 'pinned', containers: [{name: 'sidecar', image: `envoyproxy/envoy@${digestOf('envoy')}`, digest: digestOf('envoy')}]})

  const kubeconfig = await writeKubeconfig(path.join(set.workDir, 'kubeconfig'), set.clusters.map((cluster) => ({cluster})))
  await symlink(path.join(root, 'bin', 'run.js'), path.join(pathDir, 'kubectl-snyk_watch'))
  const env = {
    ...process.env,
    PATH: [pathDir, set.binaries.dir, path.join(root, 'node_modules', '.bin'), process.env.PATH].join(path.delimiter),
    KUBECONFIG: kubeconfig,
    SNYK_TOKEN: snyk.token,
    SNYK_WATCH_ORG: snyk.orgId,
    SNYK_WATCH_API: snyk.url,
    SNYK_WATCH_STATE: path.join(set.workDir, 'state.db'),
  }
  const run = (args: string[]) =>
    new Promise<number>((resolve) => {
      console.log(`$ kubectl ${args.join(' ')}`)
      spawn('kubectl', args, {env, stdio: 'inherit'}).on('close', (code) => resolve(code ?? 1))
    })
  // What Snyk finds in the imported images (the emulator's other projects get counts derived from their names).
  snyk.setIssueCounts('library/nginx:1.27', {critical: 0, high: 2, medium: 5, low: 11})
  snyk.setIssueCounts('payments/api:4.2.0', {critical: 1, high: 3, medium: 4, low: 0})
  snyk.setIssueCounts('bitnami/redis:7.2', {critical: 0, high: 0, medium: 3, low: 6})

  const expect = async (args: string[], expected: number, meaning: string) => {
    const code = await run(args)
    console.log(`(exit code ${code}: ${meaning})`)
    if (code !== expected) throw new Error(`\`kubectl ${args.join(' ')}\` exited ${code}, expected ${expected} (${meaning})`)
  }
  say('what runs where')
  await run(['get', 'pods', '-A', '--context', 'prod-eu'])
  say('sync: every unique image submitted once, waiting for Snyk to import it')
  await expect(['snyk-watch', 'sync', '--all-contexts', '--wait'], 0, 'success; skipped images are reported with their fix')
  say('run again: nothing new to submit')
  await expect(['snyk-watch', 'sync', '--all-contexts'], 0, 'success')
  say("status --refresh: Snyk's vulnerability counts (critical/high/medium/low) for every image running in the clusters")
  await expect(['snyk-watch', 'status', '--refresh'], 0, 'success')
  say('status --fail-on high: the CI gate trips on images with high or critical vulnerabilities')
  await expect(['snyk-watch', 'status', '--fail-on', 'high'], 1, 'the gate tripped')
  if (snyk.violations.length > 0) throw new Error(`the CLI sent off-contract requests: ${JSON.stringify(snyk.violations)}`)
  say(`the Snyk emulator received ${snyk.requests.filter((r) => r.method === 'POST').length} imports; every request followed Snyk's contract`)
} finally {
  await Promise.all([set.stop(), snyk.close()])
  await rm(pathDir, {recursive: true, force: true})
}

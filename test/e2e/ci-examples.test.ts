// README's CI examples, run as written: the GitHub Actions workflow's Gate step and the GitLab CI job's script,
// each as its runner runs it (bash, the documented environment, the CI system's secrets and variables given as the
// test's), against real API servers and the Snyk emulator. The install steps are checked, not run: the test puts
// the checkout's plugin and the clusters' kubectl on PATH. What the examples promise: the first scheduled run
// judges every image (all are new) and trips on a high; the next run, on the cached state, does not block on it.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse as parseYaml} from 'yaml'
import {startPluginFixture, type PluginFixture} from '../helpers/plugin-fixture.ts'
import {withSnykEmulator} from '../helpers/snyk-emulator-fixture.ts'
import {expectedTargets} from '../helpers/sync-scenario.ts'

const root = path.resolve(import.meta.dirname, '..', '..')

/** The ```yaml block of README.md whose first line is `# <file>`. */
async function readmeExample(file: string): Promise<Record<string, unknown>> {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8')
  const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!).find((text) => text.startsWith(`# ${file}\n`))
  assert.ok(block, `README.md has a yaml example for ${file}`)
  return parseYaml(block) as Record<string, unknown>
}

function runBash(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn('bash', args, {env, cwd, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('close', (code) => resolve({code, stdout, stderr}))
  })
}

describe("README's CI examples, run as written", () => {
  let fixture: PluginFixture
  let work: string
  before(async () => {
    fixture = await startPluginFixture()
    work = await mkdtemp(path.join(tmpdir(), 'snyk-watch-ci-'))
  })
  after(async () => {
    await fixture?.stop()
    if (work) await rm(work, {recursive: true, force: true})
  })

  /** The plugin, node and the clusters' kubectl on PATH, as the examples' install steps leave a runner. */
  const runnerEnv = (snykUrl: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
    // The kubeconfig comes only from what each example sets up (a file written from a secret, a File variable).
    const base = fixture.environment({})
    delete base['KUBECONFIG']
    return {...base, PATH: [path.dirname(fixture.set.binaries.kubectl), base['PATH']].join(path.delimiter), SNYK_WATCH_API: snykUrl, ...extra}
  }

  it('GitHub Actions: the Gate step trips on the first run (annotated, job summary), not on the next one (--fail-on-new)', async (t) => {
    const snyk = await withSnykEmulator(t)
    for (const name of Object.keys(expectedTargets)) snyk.setIssueCounts(name, {critical: 0, high: 0, medium: 1, low: 0})
    snyk.setIssueCounts('library/nginx:1.27', {critical: 0, high: 2, medium: 0, low: 0})
    const workflow = (await readmeExample('.github/workflows/snyk-watch.yml')) as {jobs: Record<string, {steps: Array<{name?: string; run?: string; env?: Record<string, string>}>}>}
    const steps = workflow.jobs['gate']!.steps
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {name: string}
    assert.equal(steps.find((step) => step.name === 'Install')?.run, `npm install -g ${pkg.name}`, 'installs this package')
    const gate = steps.find((step) => step.name === 'Gate')
    assert.ok(gate?.run && gate.env)
    // ${{ secrets.X }} and ${{ vars.X }}: what the repository's settings would hold.
    const settings: Record<string, string> = {'secrets.SNYK_TOKEN': snyk.token, 'vars.SNYK_ORG_ID': snyk.orgId, 'secrets.KUBECONFIG': await readFile(fixture.kubeconfig, 'utf8')}
    const stepEnv = Object.fromEntries(Object.entries(gate.env).map(([name, value]) => [name, value.replace(/^\$\{\{ (\S+) \}\}$/, (_, key: string) => settings[key] ?? assert.fail(`no setting ${key}`))]))
    const workspace = await mkdtemp(path.join(work, 'github-'))
    const script = path.join(workspace, '..', `gate-${path.basename(workspace)}.sh`)
    await writeFile(script, gate.run)
    const summary = path.join(workspace, '..', `summary-${path.basename(workspace)}.md`)
    // As the runner runs a `run:` step: bash --noprofile --norc -eo pipefail {0}, in the workspace.
    const env = runnerEnv(snyk.url, {...stepEnv, RUNNER_TEMP: await mkdtemp(path.join(work, 'runner-temp-')), GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary})
    const first = await runBash(['--noprofile', '--norc', '-eo', 'pipefail', script], env, workspace)
    assert.equal(first.code, 1, first.stderr)
    assert.match(first.stdout, /gate: FAILED \(--fail-on high --fail-on-new: \d+ new images judged\): 1 image with high or worse issues: docker\.io\/library\/nginx:1\.27/)
    assert.match(first.stderr, /^::error title=kubectl snyk-watch sync --fail-on high::docker\.io\/library\/nginx:1\.27 has high or worse issues/m)
    assert.match(await readFile(summary, 'utf8'), /gate FAILED/)
    assert.doesNotMatch(first.stdout + first.stderr, new RegExp(snyk.token))
    const next = await runBash(['--noprofile', '--norc', '-eo', 'pipefail', script], env, workspace)
    assert.equal(next.code, 0, next.stderr)
    assert.match(next.stdout, /gate: passed \(--fail-on high --fail-on-new: 0 new images judged\)/)
  })

  it('GitLab CI: the job script trips on the first scheduled run, not on the next one', async (t) => {
    const snyk = await withSnykEmulator(t)
    for (const name of Object.keys(expectedTargets)) snyk.setIssueCounts(name, {critical: 0, high: 0, medium: 1, low: 0})
    snyk.setIssueCounts('library/nginx:1.27', {critical: 0, high: 2, medium: 0, low: 0})
    const pipeline = (await readmeExample('.gitlab-ci.yml')) as Record<string, {before_script: string[]; script: string[]; variables: Record<string, string>; cache: {paths: string[]}}>
    const job = pipeline['snyk-watch']!
    const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {name: string}
    assert.ok(job.before_script.includes(`npm install -g ${pkg.name}`), 'installs this package')
    assert.deepEqual(job.cache.paths, ['state.db'], 'the state store is what the cache keeps')
    // The project's CI/CD variables: KUBECONFIG of type File (a path), SNYK_TOKEN masked, SNYK_ORG_ID.
    const ciVariables: Record<string, string> = {KUBECONFIG: fixture.kubeconfig, SNYK_TOKEN: snyk.token, SNYK_ORG_ID: snyk.orgId, CI_PIPELINE_SOURCE: 'schedule'}
    const jobVariables = Object.fromEntries(Object.entries(job.variables).map(([name, value]) => [name, value.replace(/\$(\w+)/g, (_, key: string) => ciVariables[key] ?? '')]))
    const workspace = await mkdtemp(path.join(work, 'gitlab-'))
    const env = runnerEnv(snyk.url, {...ciVariables, ...jobVariables})
    const run = () => runBash(['-e', '-c', job.script.join('\n')], env, workspace)
    const first = await run()
    assert.equal(first.code, 1, first.stderr)
    assert.match(first.stdout, /gate: FAILED \(--fail-on high --fail-on-new: \d+ new images judged\)/)
    assert.doesNotMatch(first.stderr, /::error/, 'no GitHub annotations outside GitHub Actions')
    const next = await run()
    assert.equal(next.code, 0, next.stderr)
  })
})

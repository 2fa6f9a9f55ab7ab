import {Flags} from '@oclif/core'
import {SnykWatchCommand} from '../cli/snyk-watch-command.ts'
import {commonFlags, snykFlags} from '../cli/shared-flags.ts'
import {writeJson} from '../render/json-output.ts'
import {renderStatus} from '../render/status-table.ts'
import {resolveStatusOptions, type StatusOptions} from '../status/status-options.ts'
import type {StatusResult} from '../status/status-result.ts'
import {runStatus} from '../status/status-service.ts'
import {defaults, durationText} from '../config/defaults.ts'

export default class Status extends SnykWatchCommand {
  static override summary = 'What was found running and submitted, with Snyk\'s vulnerability counts; a CI gate.'
  static override description = `Reads the state store that sync and watch write (offline). --refresh reads Snyk's current issue counts first; --fail-on makes it a CI gate; --watch keeps the view on screen and redraws it as the store changes, until Ctrl+C.

Images are marked FIPS when "fips" is a token of their repository or tag (nginx-fips, ubi9_fips, 2.1-fips140; not fipster or non-fips); the pod annotation snyk-watch.io/fips: "true" or "false" overrides it.

Every flag can also be set with SNYK_WATCH_<FLAG> or in the config file. Exit codes: 0 success (and a --watch ended with Ctrl+C); 1 --fail-on gate tripped; 2 usage, configuration or authentication error (including a missing state store); 3 partial failure (the refresh or an SBOM export failed: stored counts are shown).`

  static override examples = [
    {description: 'Every image running, with its result', command: 'kubectl snyk-watch status'},
    {description: 'CI gate on fresh counts', command: 'kubectl snyk-watch status --refresh --org 3b1f... --fail-on high'},
    {description: 'By namespace, only one cluster', command: 'kubectl snyk-watch status --by namespace --context prod-eu'},
    {description: 'Only FIPS images', command: 'kubectl snyk-watch status --fips'},
    {description: 'A live view while watch runs elsewhere on the same store', command: 'kubectl snyk-watch status -w'},
  ]

  static override enableJsonFlag = true

  static override flags = {
    by: Flags.string({description: 'Rows by image (default), workload, namespace or cluster.', options: ['image', 'workload', 'namespace', 'cluster']}),
    context: Flags.string({description: 'Only images running in this context (cluster); repeatable.', multiple: true, helpGroup: 'FILTERS'}),
    namespace: Flags.string({char: 'n', description: 'Only images running in this namespace; repeatable.', multiple: true, helpGroup: 'FILTERS'}),
    all: Flags.boolean({description: 'Also images not running anywhere now: seen before, their pods gone or forgotten (--forget-after).', helpGroup: 'FILTERS'}),
    image: Flags.string({description: 'Only images matching this glob (`*nginx*`, `ghcr.io/acme/*`); repeatable.', multiple: true, helpGroup: 'FILTERS'}),
    result: Flags.string({description: 'Only images with this result; repeatable.', multiple: true, options: ['monitored', 'pending', 'failed', 'skipped', 'not-submitted'], helpGroup: 'FILTERS'}),
    fips: Flags.boolean({description: 'Only FIPS images; --no-fips: only the others.', allowNo: true, helpGroup: 'FILTERS'}),
    'fail-on': Flags.string({description: 'Exit 1 when a selected image has an issue at or above this severity.', options: ['critical', 'high', 'medium', 'low']}),
    refresh: Flags.boolean({description: 'Read the current issue counts from Snyk first (needs SNYK_TOKEN and --org).'}),
    sbom: Flags.string({description: 'Write one CycloneDX SBOM per monitored Snyk project into this directory.'}),
    watch: Flags.boolean({char: 'w', description: 'Keep showing the status, redrawn as the state store changes (sync or watch writing to it), until Ctrl+C. Not with --fail-on, --refresh or --sbom.', helpGroup: 'LIVE VIEW'}),
    interval: Flags.string({description: `How often --watch looks for changes (default ${durationText(defaults.statusIntervalMs)}).`, helpGroup: 'LIVE VIEW'}),
    timeout: Flags.string({description: 'Stop Snyk requests after this long (e.g. 5m).'}),
    ...snykFlags,
    ...commonFlags,
    output: Flags.string({char: 'o', description: 'Output format. Under --watch, json prints one document per line and yaml one document per change.', options: ['table', 'wide', 'json', 'yaml']}),
  }

  /** Plain JSON (oclif's colouring tokenizer takes seconds on the result of 20,000 images), written in pieces. */
  protected override logJson(json: unknown): void {
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) writeJson(json, (text) => process.stdout.write(text))
    else process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
  }

  async run(): Promise<StatusResult | undefined> {
    const {flags} = await this.parse(Status)
    const options = resolveStatusOptions(flags, process.env, flags.config)
    if (options.watch) {
      await this.#watch(this.jsonEnabled() ? {...options, output: 'json'} : options)
      return undefined
    }
    const result = await runStatus(options, {env: process.env})
    if (options.output === 'json' && !this.jsonEnabled()) this.logJson(result)
    else if (options.output === 'yaml') process.stdout.write((await import('yaml')).stringify(result))
    else if (!this.jsonEnabled()) process.stdout.write(renderStatus(result, process.stdout.isTTY ? process.stdout.columns : 160, options.output === 'wide'))
    // Loaded only in a GitHub Actions job: a plain status starts without it.
    if (result.gate && process.env['GITHUB_ACTIONS'] === 'true') await (await import('../render/github-actions.ts')).reportGateToGitHub(result.gate, 'status', process.env, process.stderr)
    process.exitCode = result.exitCode
    return result
  }

  /** The live view: ends with exit 0 on Ctrl+C, SIGTERM, or when stdout is closed (`| head`). */
  async #watch(options: StatusOptions): Promise<void> {
    const [{watchStatus}, {StatusLiveView}] = await Promise.all([import('../status/status-watch.ts'), import('../render/status-live-view.ts')])
    const stringifyYaml = options.output === 'yaml' ? (await import('yaml')).stringify : undefined
    const view = new StatusLiveView(process.stdout, {format: options.output, intervalMs: options.intervalMs, ...(stringifyYaml ? {stringifyYaml} : {})})
    const controller = new AbortController()
    const stop = (): void => controller.abort()
    const closed = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'EPIPE') stop()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    process.stdout.on('error', closed)
    // Whatever happens, the terminal gets its screen and cursor back.
    process.once('exit', () => view.stop())
    try {
      await watchStatus(options, {env: process.env, view, signal: controller.signal})
    } finally {
      view.stop()
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      process.stdout.off('error', closed)
    }
    process.exitCode = 0
  }
}

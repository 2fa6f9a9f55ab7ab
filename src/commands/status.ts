import {Command, Flags} from '@oclif/core'
import {stringify} from 'yaml'
import {commonFlags, snykFlags} from '../cli/shared-flags.ts'
import {renderStatus} from '../render/status-table.ts'
import {resolveStatusOptions} from '../status/status-options.ts'
import type {StatusResult} from '../status/status-result.ts'
import {runStatus} from '../status/status-service.ts'

export default class Status extends Command {
  static override summary = 'What was found running and submitted, with Snyk\'s vulnerability counts; a CI gate.'
  static override description = `Reads the state store that sync writes (offline). --refresh reads Snyk's current issue counts first; --fail-on makes it a CI gate.

Every flag can also be set with SNYK_WATCH_<FLAG> or in the config file. Exit codes: 0 success; 1 --fail-on gate tripped; 2 usage, configuration or authentication error (including a missing state store); 3 partial failure (the refresh or an SBOM export failed: stored counts are shown).`

  static override examples = [
    {description: 'Every image running, with its result', command: 'kubectl snyk-watch status'},
    {description: 'CI gate on fresh counts', command: 'kubectl snyk-watch status --refresh --org 3b1f... --fail-on high'},
    {description: 'By namespace, only one cluster', command: 'kubectl snyk-watch status --by namespace --context prod-eu'},
  ]

  static override enableJsonFlag = true

  static override flags = {
    by: Flags.string({description: 'Rows by image (default), workload, namespace or cluster.', options: ['image', 'workload', 'namespace', 'cluster']}),
    context: Flags.string({description: 'Only images running in this context (cluster); repeatable.', multiple: true, helpGroup: 'FILTERS'}),
    namespace: Flags.string({char: 'n', description: 'Only images running in this namespace; repeatable.', multiple: true, helpGroup: 'FILTERS'}),
    image: Flags.string({description: 'Only images matching this glob (`*nginx*`, `ghcr.io/acme/*`); repeatable.', multiple: true, helpGroup: 'FILTERS'}),
    result: Flags.string({description: 'Only images with this result; repeatable.', multiple: true, options: ['monitored', 'pending', 'failed', 'skipped', 'not-submitted'], helpGroup: 'FILTERS'}),
    'fail-on': Flags.string({description: 'Exit 1 when a selected image has an issue at or above this severity.', options: ['critical', 'high', 'medium', 'low']}),
    refresh: Flags.boolean({description: 'Read the current issue counts from Snyk first (needs SNYK_TOKEN and --org).'}),
    sbom: Flags.string({description: 'Write one CycloneDX SBOM per monitored Snyk project into this directory.'}),
    timeout: Flags.string({description: 'Stop Snyk requests after this long (e.g. 5m).'}),
    ...snykFlags,
    ...commonFlags,
    output: Flags.string({char: 'o', description: 'Output format.', options: ['table', 'wide', 'json', 'yaml']}),
  }

  /** Plain JSON: oclif's colouring tokenizer takes seconds on the result of 20,000 images. */
  protected override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
  }

  async run(): Promise<StatusResult> {
    const {flags} = await this.parse(Status)
    const options = resolveStatusOptions(flags, process.env, flags.config)
    const result = await runStatus(options, {env: process.env})
    if (options.output === 'json' && !this.jsonEnabled()) this.logJson(result)
    else if (options.output === 'yaml') process.stdout.write(stringify(result))
    else if (!this.jsonEnabled()) process.stdout.write(renderStatus(result, process.stdout.isTTY ? process.stdout.columns : 160, options.output === 'wide'))
    process.exitCode = result.exitCode
    return result
  }
}

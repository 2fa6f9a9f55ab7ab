// Reads of the SQLite store that only tests and benchmarks make, kept out of the StateStore seam (and of the
// store's class): every image with full detail, summaries collected into a list, the last run and the schema
// version. They work on the store's own connection.
import type {ImageListing, ImageSummary, ListImagesFilter, RunRecord} from '../../src/state/records.ts'
import {SqliteInventory} from '../../src/state/sqlite/inventory.ts'
import {SqliteReports} from '../../src/state/sqlite/reports.ts'
import type {SqliteStateStore} from '../../src/state/sqlite/sqlite-state-store.ts'

/** Every image with full detail (pods, containers, claims), ordered by key. */
export function listImages(store: SqliteStateStore, filter: ListImagesFilter = {}): ImageListing[] {
  return new SqliteReports(store.connection).listImages(filter)
}

/** `visitImageSummaries` collected and ordered by key. */
export function listImageSummaries(store: SqliteStateStore, filter: ListImagesFilter = {}): ImageSummary[] {
  return new SqliteReports(store.connection).listImageSummaries(filter)
}

/** The most recently started run, of `command` if given. */
export function lastRun(store: SqliteStateStore, command?: string): RunRecord | undefined {
  return new SqliteInventory(store.connection).lastRun(command)
}

/** The schema version of the open database. */
export function schemaVersionOf(store: SqliteStateStore): number {
  return store.connection.schemaVersion
}

// `npm run contracts:update`: distils Snyk's official API documents (../shared/contracts, or
// $SNYK_CONTRACTS_DIR) into the committed contract test/contracts/snyk-api-contract.json, and says which
// operations changed. The emulator and every test validate against that file.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {
  CONTRACT_FILE,
  contractDifferences,
  contractFileText,
  distilContract,
  loadCommittedContract,
  loadOfficialDocuments,
  officialContractsDir,
  officialDocumentsPresent,
} from '../test/emulator/contract-documents.ts'

const dir = officialContractsDir()
if (!officialDocumentsPresent(dir)) {
  console.error(`Snyk's official documents are not in ${dir}.\nfix: set SNYK_CONTRACTS_DIR to the folder that holds snyk-v1-import.yaml and snyk-rest-openapi.json`)
  process.exit(2)
}
const fresh = distilContract(loadOfficialDocuments(dir))
const text = contractFileText(fresh)
const relative = path.relative(process.cwd(), CONTRACT_FILE)
if (existsSync(CONTRACT_FILE) && readFileSync(CONTRACT_FILE, 'utf8') === text) {
  console.log(`${relative} is up to date with ${dir}`)
} else {
  const changes = existsSync(CONTRACT_FILE) ? contractDifferences(loadCommittedContract(), fresh) : ['(new file)']
  writeFileSync(CONTRACT_FILE, text)
  console.log(`wrote ${relative} (${text.length} bytes) from ${dir}`)
  for (const line of changes) console.log(`  ${line}`)
}

import { describe, expect, it } from 'vitest'
import { versionInPackageJson } from '../../common/test-support/package-version.js'
import { PROVIDER_FILE } from '../test-support/adapter-harness.js'
import { adapterCli } from '../test-support/adapter-cli.js'

// `serve` is the adapter's default command, so a word that names no command must be refused before
// it reaches serve: none of these starts an adapter.
describe('conax-adapter words', () => {
  it('prints the package version for version, --version and -V', async () => {
    for (const word of ['version', '--version', '-V']) {
      const result = await adapterCli([word])
      expect(result).toEqual({ code: 0, stdout: `${versionInPackageJson()}\n`, stderr: '' })
    }
  })

  it('refuses a misspelt command with a suggestion and exit code 2, not a start of serve', async () => {
    for (const args of [
      ['runz'],
      ['runz', '--provider', PROVIDER_FILE, '--memory', '--port', '0'],
      ['--provider', PROVIDER_FILE, '--memory', '--port', '0', 'runz'],
      ['--url', 'http://127.0.0.1:1', 'runz'],
    ]) {
      const result = await adapterCli(args)
      expect(result.code).toBe(2)
      expect(result.stderr).toContain("error: unknown command 'runz'\n(Did you mean runs?)")
      expect(result.stdout).toBe('')
    }
    const serve = await adapterCli(['srve', '--provider', PROVIDER_FILE])
    expect(serve.stderr).toContain('(Did you mean serve?)')
  })

  it('names a misspelt option before the missing --provider, and a misspelt subcommand of runs', async () => {
    const option = await adapterCli(['--provder', PROVIDER_FILE])
    expect(option.code).toBe(2)
    expect(option.stderr).toContain("error: unknown option '--provder'\n(Did you mean --provider?)")
    const missing = await adapterCli(['--memory'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("required option '--provider <file>' not specified")
    const sub = await adapterCli(['runs', 'lst'])
    expect(sub.code).toBe(2)
    expect(sub.stderr).toContain("error: unknown command 'lst'\n(Did you mean list?)")
  })
})

import { describe, expect, it } from 'vitest'
import { capturedIo } from '../../../common/test-support/captured-io.js'
import { versionInPackageJson } from '../../../common/test-support/package-version.js'
import { runCli } from './main.js'

// The words of `conax-sim` through its main function in process: none of these starts a server.
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = capturedIo()
  const code = await runCli([process.execPath, 'conax-sim', ...args], io)
  return { code, stdout: io.out(), stderr: io.err() }
}

describe('conax-sim words', () => {
  it('prints the package version for version, --version and -V', async () => {
    for (const word of ['version', '--version', '-V']) {
      const result = await cli(word)
      expect(result).toEqual({ code: 0, stdout: `${versionInPackageJson()}\n`, stderr: '' })
    }
  })

  it('refuses a word that is no command, with a suggestion, exit code 2, wherever it stands', async () => {
    const misspelt = await cli('--port', '0', 'verson')
    expect(misspelt.code).toBe(2)
    expect(misspelt.stderr).toContain("error: unknown command 'verson'\n(Did you mean version?)")
    expect(misspelt.stdout).toBe('')
    const unknown = await cli('runz', '--fixtures')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("error: unknown command 'runz'")
  })

  it('refuses an unknown option with a suggestion, exit code 2', async () => {
    const result = await cli('--fixtres')
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("error: unknown option '--fixtres'\n(Did you mean --fixtures?)")
  })
})

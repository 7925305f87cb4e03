import { describe, expect, it } from 'vitest'
import { capturedIo } from '../../../common/test-support/captured-io.js'
import { versionInPackageJson } from '../../../common/test-support/package-version.js'
import { runConformanceCli } from './main.js'

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = capturedIo({ NO_COLOR: '1' })
  const code = await runConformanceCli([process.execPath, 'conax-conformance', ...args], io)
  return { code, stdout: io.out(), stderr: io.err() }
}

describe('conax-conformance words', () => {
  it('prints the package version for version and --version', async () => {
    for (const word of ['version', '--version']) {
      expect(await cli(word)).toEqual({
        code: 0,
        stdout: `${versionInPackageJson()}\n`,
        stderr: '',
      })
    }
  })

  it('refuses an unknown command and an unknown option with a suggestion, exit code 2', async () => {
    const command = await cli('rn')
    expect(command.code).toBe(2)
    expect(command.stderr).toContain("error: unknown command 'rn'\n(Did you mean run?)")
    const option = await cli('run', '--jnit', 'x.xml')
    expect(option.code).toBe(2)
    expect(option.stderr).toContain("error: unknown option '--jnit'\n(Did you mean --junit?)")
  })
})

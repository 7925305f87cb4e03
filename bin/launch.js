// Shared by the three launchers: the programs are TypeScript compiled to dist/ by `npm install`
// (the prepare script); a launcher only finds the compiled main function and runs it.
import { existsSync } from 'node:fs'

/**
 * Runs `exportName` of the compiled module `distPath` (relative to the package root) on
 * process.argv and sets the exit code. `onClosedStdout`: what a closed pipe (`| head`) means:
 * 'exit' ends the program quietly, 'continue' lets it finish (its exit code still tells).
 */
export async function launch(program, distPath, exportName, onClosedStdout = 'exit') {
  process.stdout.on('error', (error) => {
    if (error.code !== 'EPIPE') {
      throw error
    }
    if (onClosedStdout === 'exit') {
      process.exit(0)
    }
  })
  const main = new URL(`../${distPath}`, import.meta.url)
  if (!existsSync(main)) {
    console.error(
      `${program}: BUILD_MISSING: dist/ is not there. Run \`npm install\` (it builds in prepare) or \`npm run build\`.`,
    )
    process.exit(2)
  }
  const module = await import(main.href)
  process.exitCode = await module[exportName](process.argv)
}

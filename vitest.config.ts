import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['common/**/*.test.ts', 'src/**/*.test.ts'],
          // One PostgreSQL server for the PostgreSQL store's tests (docs/decisions/0017).
          globalSetup: ['src/test-support/postgres-global-setup.ts'],
        },
      },
      { extends: true, test: { name: 'simulator', include: ['simulator/src/**/*.test.ts'] } },
      // Needs python3-zeep and libxml2-utils (Debian); run with npm run test:interop.
      { extends: true, test: { name: 'interop', include: ['simulator/interop/**/*.test.ts'] } },
      // Packs the package and installs it in a scratch project; run with npm run test:pack.
      {
        extends: true,
        test: { name: 'pack', include: ['scripts/**/*.test.ts'], testTimeout: 300_000 },
      },
      // Needs Chromium (Debian's chromium, or CHROMIUM_PATH); run with npm run test:browser.
      {
        extends: true,
        test: { name: 'browser', include: ['browser/**/*.test.ts'], testTimeout: 60_000 },
      },
      {
        extends: true,
        test: {
          name: 'conformance',
          include: ['conformance/**/*.test.ts'],
          // The explorer's run on several instances needs a PostgreSQL server too.
          globalSetup: ['src/test-support/postgres-global-setup.ts'],
          testTimeout: 20_000,
        },
      },
    ],
    testTimeout: 15_000,
    passWithNoTests: false,
    // Worker threads that keep their module graph between test files: the suite spends its time in
    // the tests, not in starting workers and importing the same modules again (measured: 131 s with
    // isolated forks, 60 s with shared threads, on the loaded 2-core machine). Tests therefore keep
    // no state in modules: servers on port 0, stores in temp folders, clocks injected.
    pool: 'threads',
    isolate: false,
    // A test that asserts nothing cannot fail: vitest fails it.
    expect: { requireAssertions: true },
  },
})

import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['common/**/*.test.ts', 'src/**/*.test.ts'] },
      },
      { extends: true, test: { name: 'simulator', include: ['simulator/src/**/*.test.ts'] } },
      // Needs python3-zeep and libxml2-utils (Debian); run with npm run test:interop.
      { extends: true, test: { name: 'interop', include: ['simulator/interop/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'conformance',
          include: ['conformance/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
    ],
    testTimeout: 15_000,
    passWithNoTests: false,
    // A test that asserts nothing cannot fail: vitest fails it.
    expect: { requireAssertions: true },
  },
})

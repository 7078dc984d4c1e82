import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Real-kernel and VM tests share 2 cores; run files one or two at a time.
    maxWorkers: 2,
    reporters: ['default'],
  },
});

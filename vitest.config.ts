import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

// Two projects: `unit` is what `npm test` runs (fast, every commit); `slow` holds suites that
// take minutes (2,000-job concurrency run, crash/restart, browser end-to-end). CI runs both.
const slow = ['test/**/*.slow.test.ts'];
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...slow, 'test/client/**', 'node_modules/**'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The volunteer page's component and logic tests: jsdom, with Svelte's browser build.
        plugins: [svelte()],
        resolve: { conditions: ['browser'] },
        test: {
          name: 'dom',
          include: ['test/client/**/*.test.ts'],
          exclude: [...slow, 'node_modules/**'],
          environment: 'jsdom',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'slow',
          include: slow,
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

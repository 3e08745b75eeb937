import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The web console and the citizen site: built into dist/web, which the Shutong server serves at
 * `/` and `/citizen/` (src/console.ts).
 * `npm run build` runs this; `npm start` and the test suite build first when dist is missing or
 * older than these sources (scripts/ensure-console.ts). Everything comes from node_modules: the
 * build works offline.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
    // Libraries change less often than the console: separate chunks stay cached across releases.
    rolldownOptions: {
      // Two pages: the staff console (index.html at /) and the citizen site (citizen/index.html,
      // served at /citizen/). They share the React and i18next chunks; the citizen site has no antd.
      input: {
        console: fileURLToPath(new URL('index.html', import.meta.url)),
        citizen: fileURLToPath(new URL('citizen/index.html', import.meta.url)),
      },
      output: {
        advancedChunks: {
          groups: [
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender)[\\/]/ },
            { name: 'antd', test: /node_modules[\\/](antd|@ant-design|rc-[^\\/]+|@rc-component)[\\/]/ },
            {
              name: 'react',
              test: /node_modules[\\/](react|react-dom|scheduler|i18next|react-i18next)[\\/]/,
              // First: otherwise antd's group takes React along as its dependency, and the citizen
              // site (no antd) would load antd's chunk for React.
              priority: 1,
            },
          ],
        },
      },
    },
  },
  server: {
    // `npx vite web` for console development: the API comes from a Shutong server on 8080.
    proxy: { '/v1': 'http://127.0.0.1:8080' },
  },
});

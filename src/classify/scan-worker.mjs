// Entry of the background scan worker: a worker thread does not inherit the TypeScript loader
// of the thread that starts it, so it registers its own before loading the scanner.
import { register } from 'tsx/esm/api';

register();
await import('./scan-worker.ts');

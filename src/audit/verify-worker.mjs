// Entry of a verification hashing worker: a worker thread does not inherit the TypeScript loader
// of the thread that starts it, so it registers its own before loading the hasher.
import { register } from 'tsx/esm/api';

register();
await import('./verify-worker.ts');

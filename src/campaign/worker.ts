// Worker-thread entry of a multi-job campaign: one runner (harness process, container or VM) and
// its own JavaScript thread for generation, prediction and comparison. Messages: see executor.ts.

import { parentPort, workerData } from 'node:worker_threads';
import { createRunner } from '../runner/index.js';
import { bindThisThread } from './affinity.js';
import { CannotTestError } from '../util/errors.js';
import { profileFor, type WorkerInit } from './executor.js';
import { runChunk, runMinimize, type ChunkTask, type MinimizeTask, type WorkContext } from './work.js';

const init = workerData as WorkerInit;
const port = parentPort!;

async function main(): Promise<void> {
  // Bind before the runner spawns its harness: the harness inherits this thread's CPU (affinity.ts).
  const bindError = init.cpu === undefined ? null : bindThisThread(init.cpu);
  const runner = await createRunner(init.runner);
  let ctx: WorkContext;
  try {
    const target = await runner.start();
    ctx = { runner, profile: profileFor(target, init.profilePatch), cfg: init.cfg };
    port.postMessage({ type: 'ready', target, cpu: init.cpu !== undefined && bindError === null ? init.cpu : null, bindError });
  } catch (e) {
    port.postMessage({ type: 'fail', error: (e as Error).message, cannotTest: e instanceof CannotTestError });
    await runner.close();
    return;
  }
  // One task at a time: the parent only sends the next when this one answered.
  let stopping = false;
  port.on('message', (m: { type: 'chunk' | 'minimize' | 'close' | 'stop'; id: number; task: unknown }) => {
    if (m.type === 'stop') {
      stopping = true; // the chunk in flight ends after its current batch
      return;
    }
    if (m.type === 'close') {
      void runner.close().then(() => port.close());
      return;
    }
    const progress = (n: number, calls: number, found: unknown[]) => port.postMessage({ type: 'progress', id: m.id, n, calls, found });
    const work = m.type === 'chunk' ? runChunk(ctx, m.task as ChunkTask, progress, () => stopping) : runMinimize(ctx, m.task as MinimizeTask);
    work.then(
      (value) => port.postMessage({ type: 'result', id: m.id, value }),
      (e: Error) => port.postMessage({ type: 'error', id: m.id, error: e.stack ?? e.message }),
    );
  });
}

void main();

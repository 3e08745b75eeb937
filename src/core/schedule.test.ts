import { afterEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from './schedule.ts';

const quiet = { error: vi.fn() };

/** A task whose runs finish only when the test says so. */
function gatedTask() {
  const gates: Array<() => void> = [];
  let runs = 0;
  return {
    get runs() {
      return runs;
    },
    finish: () => gates.shift()?.(),
    run: () => {
      runs++;
      return new Promise<void>((resolve) => gates.push(resolve));
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Scheduler', () => {
  it('runs each task on its interval only after start, and never overlaps a run with itself', async () => {
    vi.useFakeTimers();
    const schedule = new Scheduler(quiet);
    const task = gatedTask();
    schedule.add({ name: 'work', everyMs: 100, run: task.run });
    await vi.advanceTimersByTimeAsync(500);
    expect(task.runs).toBe(0);
    schedule.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(task.runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1000); // still running: ticks are dropped
    expect(task.runs).toBe(1);
    task.finish();
    await vi.advanceTimersByTimeAsync(100);
    expect(task.runs).toBe(2);
    task.finish();
    await schedule.stop();
  });

  it('a kick while running asks for exactly one more run right after it', async () => {
    vi.useFakeTimers();
    const schedule = new Scheduler(quiet);
    const task = gatedTask();
    schedule.add({ name: 'work', everyMs: 60_000, run: task.run });
    schedule.start();
    schedule.kick('work', 10);
    await vi.advanceTimersByTimeAsync(10);
    expect(task.runs).toBe(1);
    schedule.kick('work');
    schedule.kick('work');
    task.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(task.runs).toBe(2);
    task.finish();
    await vi.advanceTimersByTimeAsync(1000);
    expect(task.runs).toBe(2);
    await schedule.stop();
  });

  it('stop waits for the run in progress, then runs onStop; nothing runs after', async () => {
    vi.useFakeTimers();
    const order: string[] = [];
    const schedule = new Scheduler(quiet);
    const task = gatedTask();
    schedule.add({
      name: 'work',
      everyMs: 100,
      run: async () => {
        await task.run();
        order.push('run finished');
      },
      onStop: async () => {
        order.push('onStop');
      },
    });
    schedule.start();
    await vi.advanceTimersByTimeAsync(100);
    const stopped = schedule.stop().then(() => order.push('stopped'));
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual([]);
    task.finish();
    await stopped;
    expect(order).toEqual(['run finished', 'onStop', 'stopped']);
    schedule.kick('work');
    await vi.advanceTimersByTimeAsync(1000);
    expect(task.runs).toBe(1);
  });

  it('logs a failing run and keeps the task scheduled', async () => {
    vi.useFakeTimers();
    const log = { error: vi.fn() };
    const schedule = new Scheduler(log);
    let runs = 0;
    schedule.add({
      name: 'flaky',
      everyMs: 100,
      run: async () => {
        runs++;
        throw new Error('boom');
      },
    });
    schedule.start();
    await vi.advanceTimersByTimeAsync(300);
    expect(runs).toBe(3);
    expect(log.error).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.any(Error) }),
      'flaky failed',
    );
    await schedule.stop();
  });

  it('refuses two tasks of one name and a non-positive interval', () => {
    const schedule = new Scheduler(quiet);
    schedule.add({ name: 'a', everyMs: 1, run: async () => {} });
    expect(() => schedule.add({ name: 'a', everyMs: 1, run: async () => {} })).toThrow(/already/);
    expect(() => schedule.add({ name: 'b', everyMs: 0, run: async () => {} })).toThrow(/positive/);
  });
});

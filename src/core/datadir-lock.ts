import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Embedded PostgreSQL (PGlite) is one process's private database: two processes opening the
 * same data directory would corrupt it. A lock file holding the owner's pid keeps them apart;
 * a lock left by a dead process is taken over.
 */
export interface DataDirLock {
  release(): void;
}

function ownerAlive(lockPath: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(lockPath, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

export async function lockDataDir(dataDir: string, waitMs = 0): Promise<DataDirLock> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockPath = path.join(dataDir, 'shutong.lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          fs.rmSync(lockPath, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = ownerAlive(lockPath);
    if (owner === undefined) {
      // Stale lock of a crashed process: remove it and race for a fresh one.
      fs.rmSync(lockPath, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `数据目录 ${dataDir} 正被进程 ${owner} 使用；嵌入式数据库只能由一个进程打开，多节点请使用 DATABASE_URL / ` +
          `data directory ${dataDir} is in use by process ${owner}; the embedded database serves one process — use DATABASE_URL for several nodes`,
      );
    }
    await sleep(100);
  }
}

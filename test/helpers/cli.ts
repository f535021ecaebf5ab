// The lbmeter command as an operator runs it: the real bin in a process of its own.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const BIN = new URL('../../bin/lbmeter.js', import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `lbmeter ARGS` with `env` (and any extra variables): its exit code and output, never a throw. */
export function lbmeterWith(env: NodeJS.ProcessEnv): (args: string[], extraEnv?: Record<string, string>) => Promise<CliResult> {
  return async (args, extraEnv = {}) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
}
